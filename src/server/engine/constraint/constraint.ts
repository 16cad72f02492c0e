// A grammar applied to one generation, token by token. The sampler proposes a token from the model's
// logits; if the grammar accepts its bytes it is taken as is (the common case for a model that follows
// the format), otherwise the allowed set over the whole vocabulary is computed (trie walk) and the sampler
// draws again from the allowed tokens only. End-of-generation tokens are allowed exactly when the output
// may end here.
import type { TokenTexts } from '../token-text.js';
import { accepting, complete, initial, stepBytes, type Frame, type StateSet } from './frame.js';
import type { TokenTrie } from './token-trie.js';

export class OutputConstraint {
  private state: StateSet;
  /** The last token checked and the state it leads to (feeding it then costs nothing). */
  private checkedId = -1;
  private checkedState: StateSet = [];

  constructor(
    roots: readonly Frame[],
    private readonly texts: TokenTexts,
    private readonly trie: () => TokenTrie,
    private readonly eog: ReadonlySet<number>,
  ) {
    this.state = initial(...roots);
  }

  /** Whether the output may end now. */
  get canEnd(): boolean {
    return accepting(this.state);
  }

  /** Whether the grammar is complete: only an end-of-generation token may follow. */
  get finished(): boolean {
    return complete(this.state);
  }

  /** No token can continue (should not happen: the grammars keep every state completable). */
  get dead(): boolean {
    return this.state.length === 0;
  }

  /** Whether `bytes` (a binary string) can come next. */
  acceptsBytes(bytes: string): boolean {
    return stepBytes(this.state, bytes).length > 0;
  }

  allows(id: number): boolean {
    if (this.eog.has(id)) return this.canEnd;
    const bytes = this.texts.bytes(id);
    if (bytes.length === 0) return false;
    const next = stepBytes(this.state, bytes);
    this.checkedId = id;
    this.checkedState = next;
    return next.length > 0;
  }

  /** Advances by a token's bytes (an end-of-generation token changes nothing). */
  acceptToken(id: number): void {
    if (this.eog.has(id)) return;
    this.state = id === this.checkedId ? this.checkedState : stepBytes(this.state, this.texts.bytes(id));
    this.checkedId = -1;
  }

  /** Advances by raw bytes (text that reached the constraint other than as a whole token). */
  acceptBytes(bytes: string): void {
    this.state = stepBytes(this.state, bytes);
    this.checkedId = -1;
  }

  /** Every token allowed now, as a mask over the vocabulary. */
  mask(vocabSize: number): Uint8Array {
    const m = new Uint8Array(vocabSize);
    this.trie().forEachAllowed(this.state, (id) => {
      if (id < vocabSize && !this.eog.has(id)) m[id] = 1;
    });
    if (this.canEnd) for (const id of this.eog) if (id < vocabSize) m[id] = 1;
    return m;
  }
}
