// The ReAct loop: call the model with the tools, run its tool calls (in parallel, results in call
// order), repeat until it answers without calls, a budget runs out, the run is cancelled, or the
// endpoint fails beyond its retries. Nothing a model or a tool does can crash it: malformed calls and
// tool failures go back to the model as error results.
import { resolve } from 'node:path';
import { chatCompletion, ModelCallError, type ChatReply, type ChatRequest } from './client.js';
import { ContextMeter, discardOldToolOutputs, headLength, NOTE_REQUEST, resumeMessage, SUMMARY_SYSTEM, tailStart, transcript } from './context.js';
import { extractJson, validate } from './schema.js';
import { Trace } from './trace.js';
import { callSignature, currentTools, execute, prepareCall, toolSpecs } from './tools.js';
import type { AgentEvent, AgentResult, ChatMessage, RunAgentOptions, StopReason, ToolCall, Usage } from './types.js';

export const DEFAULT_SYSTEM =
  'You are a capable agent. Work step by step: use the tools when they help, check your results, and when the task is done reply with the final answer and no tool call.';

class Cancelled extends Error {}

/** A 400 that says the prompt does not fit (OpenAI's wording and code, which stepflash, vLLM and others use). */
export function isContextOverflow(e: ModelCallError): boolean {
  return e.status === 400 && /context_length_exceeded|maximum context length|context length|prompt is too long|too many tokens/i.test(e.message);
}

export async function runAgent(o: RunAgentOptions): Promise<AgentResult> {
  const maxSteps = o.maxSteps ?? 20;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new Error(`maxSteps must be a positive integer, got ${maxSteps}`);
  if (!o.task.trim()) throw new Error('the task is empty');
  if (o.context && !['reset', 'discard', 'summarize'].includes(o.context)) throw new Error(`context must be reset, discard or summarize, got "${o.context}"`);
  const workspace = resolve(o.workspace ?? process.cwd());
  const threshold = o.contextThreshold ?? 24_000;
  const keepRecent = o.keepRecent ?? 2;
  const repeatLimit = o.repeatLimit ?? 3;
  const toolTimeoutMs = o.toolTimeoutMs ?? 120_000;
  const runAbort = new AbortController();
  const onOuterAbort = () => runAbort.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = runAbort.signal;

  const trace = new Trace(o.trace);
  const emit = (e: AgentEvent) => {
    try {
      o.onEvent?.(e);
    } catch {
      // a broken UI callback must not end the run
    }
  };
  const usage: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, calls: 0 };
  const system = o.system ?? DEFAULT_SYSTEM;
  let messages: ChatMessage[] = [{ role: 'system', content: system }, { role: 'user', content: o.task }];
  const meter = new ContextMeter();
  // Per call signature: the last result and how many times in a row the call returned it.
  const seen = new Map<string, { last: string; streak: number }>();
  let steps = 0;
  let repairs = 0;
  let contextEvents = 0;
  let resets = 0;
  let forcedShrink = false;
  let lastShrunkTo: number | undefined;
  let lastFinish: string | undefined;

  trace.write('run_start', {
    task: o.task,
    model: o.client.model,
    base_url: o.client.baseURL,
    tools: [...currentTools(o.tools ?? []).keys()],
    max_steps: maxSteps,
    token_budget: o.tokenBudget ?? null,
    context: o.context ?? null,
    context_threshold: o.context ? threshold : null,
    workspace,
  });

  /** One model call, traced and counted; throws Cancelled or ModelCallError. */
  const callModel = async (req: ChatRequest, purpose: string): Promise<ChatReply> => {
    steps++;
    emit({ type: 'step', step: steps });
    const step = steps;
    const chars = req.messages.reduce((n, m) => n + (m.content?.length ?? 0), 0);
    let reply: ChatReply;
    try {
      reply = await chatCompletion(o.client, req, {
        signal,
        onDelta: (kind, text) => emit({ type: 'delta', step, kind, text }),
        onRetry: (attempt, delayMs, reason) => {
          trace.write('retry', { step, attempt, delay_ms: delayMs, reason });
          emit({ type: 'retry', step, attempt, delayMs, reason });
        },
      });
    } catch (e) {
      if (signal.aborted) throw new Cancelled();
      const message = e instanceof ModelCallError ? e.message : (e as Error).message;
      trace.write('model_call', { step, purpose, request: { messages: req.messages.length, chars, tools: req.tools?.length ?? 0 }, error: message });
      throw e instanceof ModelCallError ? e : new ModelCallError(message, undefined, false);
    }
    usage.calls++;
    if (reply.usage) {
      usage.promptTokens += reply.usage.prompt;
      usage.completionTokens += reply.usage.completion;
      usage.totalTokens += reply.usage.prompt + reply.usage.completion;
    }
    const calls = reply.message.tool_calls ?? [];
    trace.write('model_call', {
      step,
      purpose,
      request: { messages: req.messages.length, chars, tools: req.tools?.length ?? 0, last_role: req.messages.at(-1)?.role },
      ms: Math.round(reply.ms),
      ttft_ms: reply.ttftMs === undefined ? null : Math.round(reply.ttftMs),
      attempts: reply.attempts,
      usage: reply.usage ? { prompt_tokens: reply.usage.prompt, completion_tokens: reply.usage.completion } : null,
      finish_reason: reply.finishReason,
      content_chars: reply.message.content?.length ?? 0,
      reasoning_chars: reply.reasoning.length,
      tool_calls: calls.map((c) => c.function.name),
    });
    emit({ type: 'model_end', step, finishReason: reply.finishReason, usage: reply.usage, toolCalls: calls.length, ms: reply.ms });
    return reply;
  };

  /** Shrinks the context when it is past the threshold, or at once when the endpoint refused it as too long. */
  const manageContext = async (force = false): Promise<void> => {
    if (!o.context) return;
    const before = meter.tokens(messages);
    if ((!force && before <= threshold) || messages.length <= headLength(messages) + 1) return;
    // Hysteresis for the strategies that cost a model call: when the last shrink could not get under the
    // threshold, wait for real growth before trying again, rather than summarising at every step.
    if (!force && o.context !== 'discard' && lastShrunkTo !== undefined && before <= lastShrunkTo + threshold / 4) return;
    const head = messages.slice(0, headLength(messages));
    if (o.context === 'discard') {
      const next = discardOldToolOutputs(messages, force ? Math.min(keepRecent, 1) : keepRecent);
      if (next.every((m, i) => m === messages[i])) return; // nothing left to discard
      messages = next;
    } else if (o.context === 'reset') {
      // After an overflow the note request must itself fit: old tool outputs are stubbed in it.
      const basis = force ? discardOldToolOutputs(messages, 1) : messages;
      const note = await callModel({ messages: [...basis, { role: 'user', content: NOTE_REQUEST }] }, 'progress_note');
      resets++;
      messages = [messages[0]!, { role: 'user', content: resumeMessage(o.task, note.message.content ?? '', resets) }];
    } else {
      const cut = tailStart(messages);
      const middle = messages.slice(head.length, cut);
      if (middle.length === 0) {
        messages = discardOldToolOutputs(messages, keepRecent);
      } else {
        const s = await callModel({ messages: [{ role: 'system', content: SUMMARY_SYSTEM }, { role: 'user', content: `The task:\n${o.task}\n\nThe work log to summarise:\n${transcript(middle)}` }] }, 'summary');
        messages = [...head, { role: 'user', content: `Summary of your earlier work on this task (older turns were condensed to save context):\n${s.message.content ?? ''}` }, ...messages.slice(cut)];
      }
    }
    meter.invalidate();
    contextEvents++;
    const after = meter.tokens(messages);
    lastShrunkTo = after;
    trace.write('context', { mode: o.context, before_tokens: before, after_tokens: after, messages: messages.length, forced: force });
    emit({ type: 'context', mode: o.context, beforeTokens: before, afterTokens: after });
  };

  /** Runs one turn's calls concurrently; results come back in call order. */
  const runCalls = async (calls: ToolCall[], step: number): Promise<ChatMessage[]> => {
    const tools = currentTools(o.tools ?? []);
    const results = await Promise.all(
      calls.map(async (call) => {
        const t0 = performance.now();
        const prep = prepareCall(call, tools);
        let content: string;
        let isError: boolean;
        let errorNote: string | undefined;
        if (!prep.ok) {
          content = `error: ${prep.error}`;
          isError = true;
          errorNote = prep.error;
          emit({ type: 'tool_start', step, callId: call.id, name: call.function.name, args: prep.args ?? call.function.arguments });
        } else {
          const sig = callSignature(call.function.name, prep.args);
          const prev = seen.get(sig);
          emit({ type: 'tool_start', step, callId: call.id, name: call.function.name, args: prep.args });
          if (prev && prev.streak >= repeatLimit - 1) {
            // A model stuck in a loop gets told, instead of the same result again. A call whose result
            // changes (ls after a write) never gets here: only identical results build the streak.
            content = `error: you have made this exact call (${call.function.name} with the same arguments) ${prev.streak + 1} times and it returned the same result each time; it will not change. Change your approach, or give your final answer.`;
            isError = true;
            errorNote = 'repeated call';
          } else {
            const r = await execute(prep.tool, prep.args, { signal, workspace, callId: call.id, timeoutMs: toolTimeoutMs });
            content = r.content;
            isError = r.isError === true;
            if (isError) errorNote = r.content.slice(0, 300);
            seen.set(sig, { last: content, streak: prev && prev.last === content ? prev.streak + 1 : 1 });
          }
        }
        const ms = performance.now() - t0;
        trace.write('tool_call', { step, call_id: call.id, name: call.function.name, args: prep.ok ? prep.args : call.function.arguments, result_chars: content.length, ms: Math.round(ms), is_error: isError, error: errorNote ?? null });
        emit({ type: 'tool_end', step, callId: call.id, name: call.function.name, isError, content, ms });
        return { role: 'tool' as const, tool_call_id: call.id, content };
      }),
    );
    return results;
  };

  let stopReason: StopReason = 'error';
  let final = '';
  let json: unknown;
  let error: string | undefined;
  try {
    for (;;) {
      if (signal.aborted) throw new Cancelled();
      if (o.tokenBudget !== undefined && usage.totalTokens >= o.tokenBudget) {
        stopReason = 'token_budget';
        break;
      }
      if (steps >= maxSteps) {
        stopReason = 'max_steps';
        break;
      }
      await manageContext();
      if (steps >= maxSteps) {
        stopReason = 'max_steps';
        break;
      }
      const tools = currentTools(o.tools ?? []);
      let reply: ChatReply;
      try {
        reply = await callModel({ messages, tools: toolSpecs(tools) }, 'step');
      } catch (e) {
        // The endpoint counted more than our estimate: shrink now (once per turn) and try again.
        if (o.context && !forcedShrink && e instanceof ModelCallError && isContextOverflow(e)) {
          forcedShrink = true;
          await manageContext(true);
          continue;
        }
        throw e;
      }
      forcedShrink = false;
      lastFinish = reply.finishReason;
      messages.push(reply.message);
      if (reply.usage) meter.measured(reply.usage.prompt + reply.usage.completion, messages.length);
      const calls = reply.message.tool_calls ?? [];
      if (calls.length === 0) {
        final = reply.message.content ?? '';
        if (o.finalSchema) {
          let problem: string | undefined;
          try {
            json = extractJson(final);
            const errs = validate(json, o.finalSchema);
            if (errs.length) problem = `it does not satisfy the schema: ${errs.join('; ')}`;
          } catch (e) {
            problem = (e as Error).message;
          }
          if (problem) {
            json = undefined;
            trace.write('repair', { step: steps, problem });
            emit({ type: 'repair', step: steps, problem });
            if (repairs >= (o.maxRepairs ?? 2)) {
              stopReason = 'error';
              error = `the final answer failed the schema after ${repairs} repair attempts: ${problem}`;
              break;
            }
            repairs++;
            messages.push({ role: 'user', content: `Your final answer must be JSON that satisfies this JSON schema:\n${JSON.stringify(o.finalSchema)}\nThe answer you gave is not accepted: ${problem}. Reply with the corrected JSON only.` });
            continue;
          }
        }
        stopReason = 'final';
        emit({ type: 'final', text: final, json });
        break;
      }
      messages.push(...(await runCalls(calls, steps)));
      if (signal.aborted) throw new Cancelled();
    }
  } catch (e) {
    if (e instanceof Cancelled || signal.aborted) {
      stopReason = 'cancelled';
      error = String((o.signal?.reason as Error | undefined)?.message ?? o.signal?.reason ?? 'cancelled');
    } else {
      stopReason = 'error';
      error = (e as Error).message;
    }
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
  trace.write('run_end', { stop_reason: stopReason, steps, usage, context_events: contextEvents, resets, error: error ?? null, final_chars: final.length, finish_reason: lastFinish ?? null });
  emit({ type: 'stop', reason: stopReason, error });
  return { final: stopReason === 'final' || stopReason === 'error' ? final : '', json, stopReason, steps, usage, messages, contextEvents, error, finishReason: lastFinish };
}
