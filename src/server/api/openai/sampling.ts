// Sampling, stop and limit fields -> the engine's ChatRequest fields, shared by both completion routes.
// What cannot be honoured (n > 1, logit_bias) is a 400, not silently ignored: a client that asked for
// three choices and got one, or a banned token that still appears, has a bug it cannot see.
import type { ChatRequest } from '../../chat-service.js';
import type { SamplingFields } from './common-schema.js';
import { invalidParam } from './validation.js';

type SamplingRequest = Pick<
  ChatRequest,
  'maxTokens' | 'temperature' | 'topP' | 'topK' | 'minP' | 'presencePenalty' | 'frequencyPenalty' | 'repetitionPenalty' | 'seed' | 'stop'
>;

export function samplingRequest(body: SamplingFields, maxTokens: number | undefined): SamplingRequest {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw invalidParam('n', `only n=1 is supported (got ${body.n}); send ${body.n} requests instead`);
  }
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) {
    throw invalidParam('logit_bias', 'logit_bias is not supported by this server');
  }
  const stop = body.stop === undefined || body.stop === null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  stop.forEach((s, i) => {
    if (s === '') throw invalidParam(typeof body.stop === 'string' ? 'stop' : `stop[${i}]`, 'stop sequences must not be empty');
  });
  const out: { -readonly [K in keyof SamplingRequest]: SamplingRequest[K] } = {};
  if (maxTokens !== undefined) out.maxTokens = maxTokens;
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) out.topP = body.top_p;
  if (body.top_k != null && body.top_k > 0) out.topK = body.top_k;
  if (body.min_p != null) out.minP = body.min_p;
  if (body.presence_penalty != null) out.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) out.frequencyPenalty = body.frequency_penalty;
  if (body.repetition_penalty != null) out.repetitionPenalty = body.repetition_penalty;
  if (body.seed != null) out.seed = body.seed;
  if (stop.length > 0) out.stop = stop;
  return out;
}
