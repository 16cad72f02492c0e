// Helpers for scanning streamed text for tags that may arrive split across chunks (`</thi` + `nk>`).

/** Whether text[at..] is a proper prefix of `marker`: the marker may still be completed by later text. */
export function isPartialMarker(text: string, at: number, marker: string): boolean {
  const rest = text.length - at;
  return rest < marker.length && marker.startsWith(text.slice(at));
}

/** Whether text[at..] is a proper prefix of any of `markers`. */
export function isPartialOfAny(text: string, at: number, markers: readonly string[]): boolean {
  for (const m of markers) if (isPartialMarker(text, at, m)) return true;
  return false;
}

/** Start of the longest suffix of `text` (not before `from`) that could begin one of `markers`; -1 if none. */
export function partialMarkerStart(text: string, from: number, markers: readonly string[]): number {
  let longest = 0;
  for (const m of markers) longest = Math.max(longest, m.length - 1);
  for (let k = Math.min(longest, text.length - from); k > 0; k--) {
    const at = text.length - k;
    if (isPartialOfAny(text, at, markers)) return at;
  }
  return -1;
}
