// The response objects of the Messages API, as this server sends them.

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

export type ContentBlockOut =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface Usage {
  /** Prompt tokens not read from the prefix cache (Anthropic counts cache reads separately). */
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/**
 * stepflash's own report, an extra field on the message (the SDK keeps unknown fields), in the same shape
 * as the OpenAI routes' extension: notes on what the server did that the client did not ask for (ignored
 * server tools, max_tokens clamped to the context left, a reasoning budget or loop guard that ended the
 * turn). Absent when there is nothing to say.
 */
export interface StepflashReport {
  notes: string[];
  max_tokens?: { requested: number | null; granted: number };
}

export interface MessageOut {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlockOut[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: Usage;
  stepflash?: StepflashReport;
}

export type BlockDelta =
  | { type: 'thinking_delta'; thinking: string }
  | { type: 'signature_delta'; signature: string }
  | { type: 'text_delta'; text: string }
  | { type: 'input_json_delta'; partial_json: string };

/** The stream's events. `ping` and `error` are written by the SSE layer, not produced from ChatEvents. */
export type StreamEvent =
  | { type: 'message_start'; message: MessageOut }
  | { type: 'content_block_start'; index: number; content_block: ContentBlockOut }
  | { type: 'content_block_delta'; index: number; delta: BlockDelta }
  | { type: 'content_block_stop'; index: number }
  | {
      type: 'message_delta';
      delta: { stop_reason: StopReason; stop_sequence: string | null };
      usage: Usage;
      stepflash?: StepflashReport;
    }
  | { type: 'message_stop' };
