// A progress bar on stderr for long work (model loading, generation of model files). It draws only when
// stderr is a terminal, so scripts and CI logs get no control characters.

export interface Progress {
  update(done: number, total: number, label?: string): void;
  done(message?: string): void;
}

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return `${n}`;
}

export function progressBar(title: string, unit = 'B', stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const start = performance.now();
  let last = 0;
  return {
    update(done, total, label) {
      if (!tty) return;
      const now = performance.now();
      if (now - last < 80 && done < total) return;
      last = now;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const width = 28;
      const fill = Math.round(frac * width);
      const secs = (now - start) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      const eta = rate > 0 && total > done ? `${Math.ceil((total - done) / rate)}s` : '';
      const line = `${title} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${human(done)}${unit}/${human(total)}${unit} ${human(rate)}${unit}/s ${eta ? 'ETA ' + eta : ''} ${label ?? ''}`;
      stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1).padEnd(Math.min(stream.columns ?? 120, 120) - 1)}`);
    },
    done(message) {
      if (tty) stream.write('\r\x1b[K');
      if (message) stream.write(`${message}\n`);
    },
  };
}
