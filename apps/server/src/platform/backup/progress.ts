/**
 * What `tether backup` and `tether restore` show on stderr: one line per stage, and on a
 * terminal a byte count (with a percentage when the size is known) redrawn in place.
 */
import type { Progress } from './archive.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export interface StageReporter {
  /** A new stage: printed as its own line. */
  stage(text: string): void;
  /** Byte progress of the current stage, redrawn at most 10 times a second (on a terminal only). */
  progress(label: string): Progress;
  /** Ends a progress line. */
  done(): void;
}

export function stageReporter(out: NodeJS.WriteStream, command: string): StageReporter {
  const tty = out.isTTY === true;
  let drawn = false;
  let last = 0;
  const end = () => {
    if (drawn) out.write('\n');
    drawn = false;
  };
  return {
    stage(text) {
      end();
      out.write(`${command}: ${text}\n`);
    },
    progress(label) {
      return {
        bytes(done, total) {
          if (!tty) return;
          const now = performance.now();
          if (now - last < 100 && done !== total) return;
          last = now;
          const pct = total ? ` ${Math.min(100, Math.floor((done / total) * 100))}%` : '';
          out.write(`\r${command}: ${label} ${formatBytes(done)}${total ? ` of ${formatBytes(total)}` : ''}${pct}\u001b[K`);
          drawn = true;
        },
      };
    },
    done: end,
  };
}
