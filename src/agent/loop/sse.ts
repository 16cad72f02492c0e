// Server-sent events from a fetch body: yields the data of each event ("[DONE]" included), tolerating
// CRLF line ends, comments (keep-alives) and multi-line data.

export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = '';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (data.length > 0) yield data.join('\n');
          data = [];
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
        // other fields (event:, id:, retry:) and comments are not used by chat completions
      }
    }
    // A last line without its newline (a server that closes right after writing) still counts.
    let rest = buf + decoder.decode();
    if (rest.endsWith('\r')) rest = rest.slice(0, -1);
    if (rest.startsWith('data:')) data.push(rest.slice(rest.startsWith('data: ') ? 6 : 5));
    if (data.length > 0) yield data.join('\n');
  } finally {
    reader.releaseLock();
  }
}
