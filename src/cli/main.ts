// The stepflash command line. One file per command under commands/; this file wires them together and
// turns any error into a one-line message and a non-zero exit code.
import { Command, CommanderError } from 'commander';
import { registerAgent } from './commands/agent.js';
import { registerBench } from './commands/bench.js';
import { registerChat } from './commands/chat.js';
import { registerCost } from './commands/cost.js';
import { registerEvalTasks } from './commands/eval-tasks.js';
import { registerInspect } from './commands/inspect.js';
import { registerKvPlan } from './commands/kv-plan.js';
import { registerLogits } from './commands/logits.js';
import { registerMakeModel } from './commands/make-model.js';
import { registerResearch } from './commands/research.js';
import { registerRun } from './commands/run.js';
import { registerServe } from './commands/serve.js';
import { registerTokenize } from './commands/tokenize.js';
import { registerTrain } from './commands/train.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('stepflash')
    .description('Step 3.5 Flash in TypeScript: serve, run, inspect and make GGUF models on the CPU')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerRun(program);
  registerServe(program);
  registerChat(program);
  registerInspect(program);
  registerTokenize(program);
  registerLogits(program);
  registerMakeModel(program);
  registerBench(program);
  registerKvPlan(program);
  registerTrain(program);
  registerCost(program);
  registerEvalTasks(program);
  registerAgent(program);
  registerResearch(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command may set its own exit status (agent: 3 for a budget stop, 130 when cancelled).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`stepflash: ${(e as Error).message}\n`);
    if (process.env.STEPFLASH_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
