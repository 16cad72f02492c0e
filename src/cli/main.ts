// The stepflash command line. One file per command under commands/; this file wires them together and
// turns any error into a one-line message and a non-zero exit code.
import { Command, CommanderError } from 'commander';
type Register = (program: Command) => void;

// Commands in the order --help lists them. Each is imported only when it runs (or for the full help):
// their dependencies (the server, the agent runtime, the training data) would otherwise add tens of MiB
// to every command's resident memory, which `bench` reports against the model file's size.
const COMMANDS: readonly [string, () => Promise<Register>][] = [
  ['run', async () => (await import('./commands/run.js')).registerRun],
  ['serve', async () => (await import('./commands/serve.js')).registerServe],
  ['chat', async () => (await import('./commands/chat.js')).registerChat],
  ['inspect', async () => (await import('./commands/inspect.js')).registerInspect],
  ['tokenize', async () => (await import('./commands/tokenize.js')).registerTokenize],
  ['logits', async () => (await import('./commands/logits.js')).registerLogits],
  ['make-model', async () => (await import('./commands/make-model.js')).registerMakeModel],
  ['bench', async () => (await import('./commands/bench.js')).registerBench],
  ['kv-plan', async () => (await import('./commands/kv-plan.js')).registerKvPlan],
  ['train', async () => (await import('./commands/train.js')).registerTrain],
  ['cost', async () => (await import('./commands/cost.js')).registerCost],
  ['eval-tasks', async () => (await import('./commands/eval-tasks.js')).registerEvalTasks],
  ['agent', async () => (await import('./commands/agent.js')).registerAgent],
  ['research', async () => (await import('./commands/research.js')).registerResearch],
];

/** The program with the command `argv` names, or every command (for help and unknown names). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('stepflash')
    .description('Step 3.5 Flash in TypeScript: serve, run, inspect and make GGUF models on the CPU')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const named = argv.find((a) => !a.startsWith('-'));
  const chosen = COMMANDS.filter(([name]) => name === named);
  for (const [, load] of chosen.length ? chosen : COMMANDS) (await load())(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
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
