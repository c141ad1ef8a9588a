/**
 * Live progress for the `pms` commands: states as they start and end, progress bars for loading
 * and training. On a terminal a bar redraws in place; anywhere else (CI, a pipe, a log file) the
 * same events become plain lines, throttled so a log stays readable. Written by hand because the
 * whole need is a dozen lines and the bar libraries pull in far more than they add here.
 */
export interface ProgressReporter {
  stateStarted(state: string, type: string): void;
  stateEnded(
    state: string,
    seconds: number,
    outcome: "succeeded" | "failed" | "retried" | "caught",
    detail?: string,
  ): void;
  /** `total` unknown → a counter without a bar. */
  progress(label: string, done: number, total: number | undefined, detail?: string): void;
  /** Ends the bar of `label` (prints its final line). */
  progressDone(label: string, detail?: string): void;
  line(text: string): void;
}

export interface RendererOptions {
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Force plain lines even on a terminal (`CI` set, `--plain`). */
  readonly plain?: boolean;
}

const BAR_WIDTH = 28;

export function formatSeconds(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

export function renderBar(done: number, total: number, width = BAR_WIDTH): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(fraction * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
}

export function createProgressRenderer(options: RendererOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const interactive = !options.plain && stream.isTTY === true;
  const lastPlainStep = new Map<string, number>();
  let barOpen = false;

  const clearBar = () => {
    if (barOpen) {
      stream.write("\r\x1b[2K");
      barOpen = false;
    }
  };
  const writeLine = (text: string) => {
    clearBar();
    stream.write(`${text}\n`);
  };
  const describe = (label: string, done: number, total: number | undefined, detail?: string) => {
    const amount = total === undefined ? `${done.toLocaleString("en-US")}` : renderBar(done, total);
    return `    ${label} ${amount}${detail ? `  ${detail}` : ""}`;
  };

  return {
    stateStarted(state) {
      writeLine(`▶ ${state}`);
    },
    stateEnded(state, seconds, outcome, detail) {
      const mark = outcome === "succeeded" ? "✔" : outcome === "failed" ? "✖" : "↻";
      writeLine(`${mark} ${state} (${formatSeconds(seconds)})${detail ? ` — ${detail}` : ""}`);
    },
    progress(label, done, total, detail) {
      if (interactive) {
        const columns = stream.columns ?? 100;
        stream.write(`\r\x1b[2K${describe(label, done, total, detail).slice(0, columns - 1)}`);
        barOpen = true;
        return;
      }
      // Plain output: one line per tenth of the work (or per step when there are few steps).
      const step =
        total === undefined ? Math.floor(Math.log10(Math.max(1, done))) : Math.floor((done / Math.max(1, total)) * 10);
      if (lastPlainStep.get(label) === step) return;
      lastPlainStep.set(label, step);
      writeLine(describe(label, done, total, detail));
    },
    progressDone(label, detail) {
      lastPlainStep.delete(label);
      writeLine(`    ${label} done${detail ? `  ${detail}` : ""}`);
    },
    line(text) {
      writeLine(text);
    },
  };
}

/** For tests and `--quiet`: keeps every event, prints nothing. */
export function createRecordingReporter(): ProgressReporter & { readonly events: string[] } {
  const events: string[] = [];
  return {
    events,
    stateStarted: (state) => events.push(`start ${state}`),
    stateEnded: (state, _seconds, outcome) => events.push(`end ${state} ${outcome}`),
    progress: (label, done, total) => events.push(`progress ${label} ${done}/${total ?? "?"}`),
    progressDone: (label) => events.push(`done ${label}`),
    line: (text) => events.push(text),
  };
}
