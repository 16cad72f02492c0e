// Ctrl-C for long-running commands: the first SIGINT (or SIGTERM) cancels the work through an AbortSignal
// so it can stop cleanly (exit status 130), a second one quits at once.
export interface Interrupt {
  readonly signal: AbortSignal;
  /** Stops listening for the signals. */
  dispose(): void;
}

export function cancelOnInterrupt(note: (message: string) => void): Interrupt {
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(130);
    note('cancelling (Ctrl-C again to quit at once)...');
    ac.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
