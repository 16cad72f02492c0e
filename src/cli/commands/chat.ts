// stepflash chat: an interactive conversation in the Step 3.5 chat format (what `npm start` runs). With a
// terminal it reads turns at a prompt; otherwise it reads one turn per line of standard input, and with no
// input at all it answers one example question, so `npm start` always shows the whole path working.
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { addCacheTypeFlags, cacheTypesFrom, type CacheTypeFlags } from '../cache-type-flags.js';
import { generate } from '../../engine/generate.js';
import { Session } from '../../engine/session.js';
import { OutputParser, type ChatMessageInput } from '../../format/index.js';
import { chatPromptTokens } from '../chat-prompt.js';
import { openModel, type OpenModel } from '../open-model.js';
import { addSamplingFlags, addThreadsFlag, positiveInt, samplingFrom, threadsFrom, type SamplingFlags } from '../sampling-options.js';

interface ChatFlags extends SamplingFlags {
  threads?: string;
  model?: string;
  system?: string;
  nPredict: string;
}

const EXAMPLE = 'What is the capital of France?';
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[22m` : s);

async function answer(m: OpenModel, session: Session, history: ChatMessageInput[], f: ChatFlags, signal: AbortSignal): Promise<void> {
  const prompt = chatPromptTokens(m.tokenizer, history);
  const parser = new OutputParser();
  let reasoning = '', content = '';
  let inReasoning = true;
  process.stdout.write(dim('thinking: '));
  const show = (events: ReturnType<OutputParser['push']>) => {
    for (const e of events) {
      if (e.type === 'reasoning') {
        reasoning += e.text;
        process.stdout.write(dim(e.text));
      } else if (e.type === 'content') {
        if (inReasoning) process.stdout.write('\nassistant: ');
        inReasoning = false;
        content += e.text;
        process.stdout.write(e.text);
      } else if (e.type === 'tool_call') {
        process.stdout.write(`\n[tool call ${e.call.name} ${JSON.stringify(e.call.arguments)}]`);
      }
    }
  };
  const gen = generate(session, m.tokenizer, prompt, { maxTokens: positiveInt('n-predict', f.nPredict), sampling: samplingFrom(f), signal });
  for await (const ev of gen) {
    if (ev.type === 'token') show(parser.push(ev.text));
    if (ev.type === 'done') {
      show(parser.push(ev.text));
      show(parser.end());
      const t = ev.result.timings;
      process.stdout.write(`\n${dim(`[${ev.result.finishReason}, ${t.generatedTokens} tokens, ${t.decodeTokensPerSecond.toFixed(1)} tok/s]`)}\n`);
    }
  }
  history.push({ role: 'assistant', content, reasoning_content: reasoning });
}

export function registerChat(program: Command): void {
  const cmd = program
    .command('chat')
    .description('chat with a model in the Step 3.5 chat format (interactive on a terminal)')
    .option('-m, --model <file>', 'GGUF file (default: the embedded default model)')
    .option('--system <text>', 'system message')
    .option('-n, --n-predict <n>', 'most tokens per answer', '96');
  addCacheTypeFlags(addThreadsFlag(addSamplingFlags(cmd))).action(async (f: ChatFlags & CacheTypeFlags) => {
    samplingFrom(f);
    const cacheTypes = cacheTypesFrom(f);
    const m = openModel(f.model, { threads: threadsFrom(f.threads) });
    const controller = new AbortController();
    try {
      process.stdout.write(`stepflash chat, model: ${m.label}\n`);
      const session = new Session(m.model, { cacheTypes });
      const history: ChatMessageInput[] = f.system ? [{ role: 'system', content: f.system }] : [];
      const turn = async (text: string) => {
        history.push({ role: 'user', content: text });
        await answer(m, session, history, f, controller.signal);
      };
      if (process.stdin.isTTY) {
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        rl.on('SIGINT', () => rl.close());
        process.stdout.write('Type a message; an empty line or Ctrl-C ends the chat.\n');
        for (;;) {
          let line: string;
          try {
            line = await rl.question('you: ');
          } catch {
            break;
          }
          if (!line.trim()) break;
          await turn(line);
        }
        rl.close();
        return;
      }
      const lines: string[] = [];
      const rl = createInterface({ input: process.stdin });
      for await (const line of rl) if (line.trim()) lines.push(line);
      if (lines.length === 0) lines.push(EXAMPLE);
      for (const line of lines) {
        process.stdout.write(`you: ${line}\n`);
        await turn(line);
      }
    } finally {
      m.close();
    }
  });
}
