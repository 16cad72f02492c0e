// POST /tokenize and POST /detokenize in llama.cpp server's shapes, which tools built for llama.cpp (token
// counters, prompt debuggers, benchmarks) call:
//
//   /tokenize    {content, add_special?: false, parse_special?: true, with_pieces?: false}
//                -> {tokens: [id, ...]}, or with_pieces {tokens: [{id, piece}, ...]} where piece is the
//                   token's text, or its bytes as a number array when they are not valid UTF-8 alone
//   /detokenize  {tokens: [id, ...]} -> {content}
//
// Validated with zod like the other routes (400 naming the field, e.g. `tokens[3]`, for a non-integer or
// an id outside the vocabulary), behind the API key like them, errors in OpenAI's shape as llama.cpp's are.
import { z } from 'zod';
import type { ChatService, TokenCodec } from '../chat-service.js';
import { HttpError, sendJson } from '../http/errors.js';
import type { Route } from '../http/route.js';
import { invalidParam, parseBody } from './openai/validation.js';

const TokenizeBody = z.looseObject({
  content: z.string(),
  add_special: z.boolean().optional(),
  parse_special: z.boolean().optional(),
  with_pieces: z.boolean().optional(),
});

const DetokenizeBody = z.looseObject({
  tokens: z.array(z.number().int()),
});

function codec(service: ChatService): TokenCodec {
  if (!service.tokens) throw new HttpError('not_found', 'this server has no tokenizer to offer');
  return service.tokens;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The piece as text, or as its bytes when they are not valid UTF-8 by themselves (part of a character). */
function pieceOf(bytes: Uint8Array): string | number[] {
  try {
    return utf8.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
}

export function tokenizeRoutes(): Route[] {
  return [
    {
      method: 'POST',
      path: '/tokenize',
      errors: 'openai',
      handler: ({ res, body, service }) => {
        const b = parseBody(TokenizeBody, body);
        const tok = codec(service);
        const ids = tok.encode(b.content, { addSpecial: b.add_special ?? false, parseSpecial: b.parse_special ?? true });
        const tokens = b.with_pieces ? ids.map((id) => ({ id, piece: pieceOf(tok.piece(id)) })) : ids;
        sendJson(res, 200, { tokens });
      },
    },
    {
      method: 'POST',
      path: '/detokenize',
      errors: 'openai',
      handler: ({ res, body, service }) => {
        const b = parseBody(DetokenizeBody, body);
        const tok = codec(service);
        b.tokens.forEach((id, i) => {
          if (id < 0 || id >= tok.vocabSize) throw invalidParam(`tokens[${i}]`, `token id ${id} is outside the vocabulary (0..${tok.vocabSize - 1})`);
        });
        sendJson(res, 200, { content: tok.decode(b.tokens) });
      },
    },
  ];
}
