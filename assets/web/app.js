// @ts-check
// The chat page: keeps the conversation, sends all of it with every turn (the server is stateless), and
// streams the reply into a ReplyView. Reasoning goes back to the server as `reasoning_content`, so the
// chat template can render earlier turns the way the model wrote them.
import { ApiError, listModels, streamChat } from './api.js';
import { ReplyView, addUserMessage, formatStats } from './render.js';

const KEY_STORAGE = 'stepflash.apiKey';
// The page has no tools to run; saying so keeps the conversation valid for the next turn.
const TOOL_NOT_RUN = 'The web chat cannot run tools; this call was not executed.';

/** @template {HTMLElement} T @param {string} id @returns {T} */
const byId = (id) => /** @type {T} */ (document.getElementById(id));
const log = byId('log');
const form = /** @type {HTMLFormElement} */ (byId('composer'));
const input = /** @type {HTMLTextAreaElement} */ (byId('input'));
const sendButton = /** @type {HTMLButtonElement} */ (byId('send'));
const stopButton = /** @type {HTMLButtonElement} */ (byId('stop'));
const modelSelect = /** @type {HTMLSelectElement} */ (byId('model'));
const apiKeyInput = /** @type {HTMLInputElement} */ (byId('api-key'));
const status = byId('status');

/** @typedef {{content: string, reasoning: string, toolCalls: {id: string, name: string, args: string}[]}} Reply */

/** @type {any[]} the conversation in OpenAI message shape */
let messages = [];
/** @type {AbortController | null} the reply in flight */
let inFlight = null;

function showStatus(/** @type {string} */ text) {
  status.textContent = text;
  status.hidden = text === '';
}

async function loadModels() {
  try {
    const ids = await listModels(apiKeyInput.value);
    const keep = modelSelect.value;
    modelSelect.replaceChildren(...ids.map((id) => new Option(id, id)));
    if (ids.includes(keep)) modelSelect.value = keep;
    showStatus(ids.length ? '' : 'The server lists no models.');
  } catch (e) {
    showStatus(`Could not load the model list: ${/** @type {Error} */ (e).message}`);
  }
}

function setBusy(/** @type {boolean} */ busy) {
  sendButton.disabled = busy;
  stopButton.disabled = !busy;
}

async function send() {
  const text = input.value.trim();
  if (text === '' || inFlight) return;
  input.value = '';
  // The conversation this reply belongs to; "New chat" during the reply starts another one.
  const conversation = messages;
  conversation.push({ role: 'user', content: text });
  addUserMessage(log, text);

  const view = new ReplyView(log);
  const controller = new AbortController();
  inFlight = controller;
  setBusy(true);
  /** @type {Reply} */
  const reply = { content: '', reasoning: '', toolCalls: [] };
  /** @type {any} */ let timings;
  /** @type {any} */ let usage;
  let finishReason = '';
  /** @type {string[]} */ const notes = [];
  const body = {
    ...(modelSelect.value ? { model: modelSelect.value } : {}),
    messages: conversation,
    stream: true,
    stream_options: { include_usage: true },
    // Whatever the server's default, this page reads the reasoning from its own field.
    reasoning_format: 'reasoning_content',
  };
  try {
    await streamChat(body, apiKeyInput.value, controller.signal, (chunk) => {
      if (chunk.usage) usage = chunk.usage;
      if (chunk.timings) timings = chunk.timings;
      // What the server decided on its own (max_tokens clamped, reasoning budget, repetition guard).
      if (Array.isArray(chunk.stepflash?.notes)) notes.push(...chunk.stepflash.notes);
      const choice = chunk.choices?.[0];
      if (!choice) return;
      const delta = choice.delta ?? {};
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === 'string' && reasoning !== '') {
        reply.reasoning += reasoning;
        view.reasoningDelta(reasoning);
      }
      if (typeof delta.content === 'string' && delta.content !== '') {
        reply.content += delta.content;
        view.contentDelta(delta.content);
      }
      for (const call of delta.tool_calls ?? []) {
        const i = call.index ?? 0;
        const acc = (reply.toolCalls[i] ??= { id: '', name: '', args: '' });
        if (call.id) acc.id = call.id;
        if (call.function?.name) acc.name += call.function.name;
        if (call.function?.arguments) acc.args += call.function.arguments;
        view.toolCall(i, acc.name, acc.args);
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    });
    if (finishReason === 'length') notes.unshift('finished: length');
    view.finish(formatStats(timings, usage), notes.join('; '));
  } catch (e) {
    if (controller.signal.aborted) view.stopped();
    else view.error(e instanceof ApiError ? e.message : `Request failed: ${/** @type {Error} */ (e).message}`);
  } finally {
    remember(conversation, reply);
    inFlight = null;
    setBusy(false);
  }
}

/**
 * Adds the assistant's turn (what arrived, even if stopped) to the conversation sent next time.
 * @param {any[]} conversation @param {Reply} reply
 */
function remember(conversation, reply) {
  const calls = reply.toolCalls.filter(Boolean);
  if (reply.content === '' && reply.reasoning === '' && calls.length === 0) return;
  /** @type {any} */
  const turn = { role: 'assistant', content: reply.content };
  if (reply.reasoning) turn.reasoning_content = reply.reasoning;
  if (calls.length) {
    turn.tool_calls = calls.map((c, i) => ({ id: c.id || `call_${i}`, type: 'function', function: { name: c.name, arguments: c.args } }));
  }
  conversation.push(turn);
  for (const call of turn.tool_calls ?? []) conversation.push({ role: 'tool', tool_call_id: call.id, content: TOOL_NOT_RUN });
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void send();
});
input.addEventListener('keydown', (e) => {
  // Enter sends, Shift+Enter is a new line; an IME composing text uses Enter to confirm it.
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    void send();
  }
});
stopButton.addEventListener('click', () => inFlight?.abort());
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') inFlight?.abort();
});
byId('new-chat').addEventListener('click', () => {
  inFlight?.abort();
  messages = [];
  log.replaceChildren();
  input.focus();
});
apiKeyInput.value = localStorage.getItem(KEY_STORAGE) ?? '';
apiKeyInput.addEventListener('change', () => {
  if (apiKeyInput.value) localStorage.setItem(KEY_STORAGE, apiKeyInput.value);
  else localStorage.removeItem(KEY_STORAGE);
  void loadModels();
});

void loadModels();
input.focus();
