// Request fields shared by /v1/chat/completions and /v1/completions: sampling, stops, limits, streaming.
// OpenAI's Python client omits unset fields, but other clients send `null` for them, so every optional
// field also accepts null. Fields outside OpenAI's API (top_k, min_p, repetition_penalty) are the ones
// vLLM, SGLang and llama.cpp take through `extra_body`.
import { z } from 'zod';

const opt = <T extends z.ZodType>(t: T) => t.nullable().optional();

export const samplingFields = {
  model: opt(z.string()),
  stream: opt(z.boolean()),
  stream_options: opt(z.looseObject({ include_usage: opt(z.boolean()) })),
  max_tokens: opt(z.number().int().min(1)),
  temperature: opt(z.number().min(0).max(2)),
  top_p: opt(z.number().min(0).max(1)),
  // vLLM's convention: -1 (or 0) means no top-k.
  top_k: opt(z.number().int().min(-1)),
  min_p: opt(z.number().min(0).max(1)),
  presence_penalty: opt(z.number().min(-2).max(2)),
  frequency_penalty: opt(z.number().min(-2).max(2)),
  repetition_penalty: opt(z.number().gt(0)),
  seed: opt(z.number().int()),
  stop: opt(
    z.union([z.string(), z.array(z.string())], { error: 'expected a string or an array of strings' }),
  ),
  n: opt(z.number().int()),
  logit_bias: opt(z.record(z.string(), z.number())),
  user: opt(z.string()),
};

export type SamplingFields = z.output<z.ZodObject<typeof samplingFields>>;
