// stepflash tokenize: text to token ids with the model's own tokenizer.
import type { Command } from 'commander';
import { GGUFFile } from '../../gguf/reader.js';
import { Tokenizer } from '../../tokenizer/index.js';
import { resolveModel } from '../default-model.js';

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .description('split text into the model\'s tokens')
    .option('-m, --model <file>', 'GGUF file (default: the embedded default model)')
    .requiredOption('-t, --text <text>', 'text to tokenize')
    .option('--special', 'recognise special-token text such as <|im_start|>')
    .option('--add-bos', 'add BOS/EOS the way the model asks for it')
    .option('--json', 'print {"ids": [...]}')
    .action((opts: { model?: string; text: string; special?: boolean; addBos?: boolean; json?: boolean }) => {
      const { path } = resolveModel(opts.model);
      const f = GGUFFile.open(path);
      let tok: Tokenizer;
      try {
        tok = Tokenizer.fromMetadata(f.metadata);
      } finally {
        f.close();
      }
      const ids = tok.encode(opts.text, { parseSpecial: opts.special === true, addSpecial: opts.addBos === true });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ids }) + '\n');
        return;
      }
      for (const id of ids) process.stdout.write(`${String(id).padStart(7)}  ${JSON.stringify(tok.tokenToPiece(id, { special: true }))}\n`);
      process.stdout.write(`${ids.length} tokens\n`);
    });
}
