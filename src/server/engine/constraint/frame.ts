// The machinery under constrained decoding: an incremental, byte-level pushdown recogniser.
//
// A grammar is built from frames. A frame is an immutable state of one construct (a JSON string, an
// object, a tool call's parameter list, a literal) and answers, for the next byte, what may happen:
//
//   STAY   the byte is consumed; the frame continues in a new state
//   PUSH   the frame hands over to a child frame (its own new state waits below it); the child reads the byte
//   DONE   the byte is consumed and completes the frame (its final state goes to the parent's childDone)
//   PASS   the frame was already complete; the byte belongs to the parent (a number ends at the `,` after it)
//
// Several outcomes at once are allowed (a key that may be a declared name or a free string; a `\n` that
// may be text or the start of `\n</parameter>`), so a recogniser state is a small set of stacks, each a
// persistent linked list: frames never change, so stacks share their lower parts and forking is cheap.
// The empty stack (null) means the grammar is complete: nothing may follow but the end of the output.
//
// Every frame keeps the invariant that a live state can still be completed (bounded strings and numbers,
// array and object sizes, nesting), so a constrained generation always has an allowed token and ends.

export const STAY = 0;
export const PUSH = 1;
export const DONE = 2;
export const PASS = 3;

export type Outcome =
  | { readonly k: typeof STAY; readonly f: Frame }
  | { readonly k: typeof PUSH; readonly f: Frame; readonly child: Frame }
  | { readonly k: typeof DONE; readonly f: Frame }
  | { readonly k: typeof PASS };

export const COMPLETE = Symbol('complete');

export abstract class Frame {
  /** What reading byte `b` (0..255) does here; empty when `b` is not allowed. */
  abstract feed(b: number): readonly Outcome[];
  /** Whether this frame may end here, with the next byte (or the end of output) belonging to its parent. */
  canEnd(): boolean {
    return false;
  }
  /**
   * Inside free text (a string's characters): how many more plain characters this frame takes, where a
   * plain character is printable, not `"`, `\\` or `<`, and whole UTF-8 (see vocab-index.ts). -1 when
   * the frame is not in such a state. Lets the mask skip the byte-by-byte walk for most tokens.
   */
  plainRoom(): number {
    return -1;
  }
  /** A child this frame pushed has completed (`child` is its final state). The new state, or COMPLETE. */
  childDone(_child: Frame): Frame | typeof COMPLETE {
    throw new Error(`${this.constructor.name} pushes no children`);
  }
}

export const NONE: readonly Outcome[] = [];
export const PASS_ONLY: readonly Outcome[] = [{ k: PASS }];
export const stay = (f: Frame): Outcome => ({ k: STAY, f });
export const push = (f: Frame, child: Frame): Outcome => ({ k: PUSH, f, child });
export const done = (f: Frame): Outcome => ({ k: DONE, f });

export interface Stack {
  readonly frame: Frame;
  readonly below: Stack | null;
}

/** A recogniser state: the stacks still alive (null = complete). Empty means dead. */
export type StateSet = readonly (Stack | null)[];

/** More alternatives than this are cut (a bound on work per byte; the grammars here stay far below it). */
const MAX_ALTERNATIVES = 64;
const MAX_CHAIN = 256;

function popInto(stack: Stack, child: Frame, out: (Stack | null)[]): void {
  const parent = stack.below;
  if (parent === null) {
    out.push(null);
    return;
  }
  const r = parent.frame.childDone(child);
  if (r === COMPLETE) popInto(parent, parent.frame, out);
  else out.push({ frame: r, below: parent.below });
}

function advance(stack: Stack | null, b: number, out: (Stack | null)[], depth: number): void {
  if (stack === null || depth > MAX_CHAIN) return;
  for (const o of stack.frame.feed(b)) {
    switch (o.k) {
      case STAY:
        out.push({ frame: o.f, below: stack.below });
        break;
      case PUSH:
        advance({ frame: o.child, below: { frame: o.f, below: stack.below } }, b, out, depth + 1);
        break;
      case DONE:
        popInto(stack, o.f, out);
        break;
      case PASS: {
        const popped: (Stack | null)[] = [];
        popInto(stack, stack.frame, popped);
        for (const s of popped) advance(s, b, out, depth + 1);
        break;
      }
    }
  }
}

/** The state after one byte. */
export function step(state: StateSet, b: number): StateSet {
  const out: (Stack | null)[] = [];
  for (const s of state) {
    advance(s, b, out, 0);
    if (out.length >= MAX_ALTERNATIVES) break;
  }
  return out.length > MAX_ALTERNATIVES ? out.slice(0, MAX_ALTERNATIVES) : out;
}

/** The state after the bytes of a binary string (one char per byte); empty (dead) as soon as one is refused. */
export function stepBytes(state: StateSet, bytes: string): StateSet {
  let s = state;
  for (let i = 0; i < bytes.length && s.length > 0; i++) s = step(s, bytes.charCodeAt(i));
  return s;
}

/** Whether the output may end in this state. */
export function accepting(state: StateSet): boolean {
  return state.some((s) => endsHere(s, 0));
}

function endsHere(stack: Stack | null, depth: number): boolean {
  if (stack === null) return true;
  if (depth > MAX_CHAIN || !stack.frame.canEnd()) return false;
  const popped: (Stack | null)[] = [];
  popInto(stack, stack.frame, popped);
  return popped.some((s) => endsHere(s, depth + 1));
}

/** Whether nothing but the end of output may follow (every alternative is complete). */
export function complete(state: StateSet): boolean {
  return state.length > 0 && state.every((s) => s === null);
}

/** The start state of a grammar whose outermost frame is `root`. */
export function initial(...roots: Frame[]): StateSet {
  return roots.map((frame) => ({ frame, below: null }));
}
