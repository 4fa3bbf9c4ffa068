// One live status line for long-running scripts: redrawn in place on a terminal, printed as
// plain lines every few seconds when stdout is a file or a pipe (CI logs, `make test`).
// Permanent lines (a timeline entry, a warning) go through log() so they never tangle with it.

export class StatusLine {
  private readonly tty: boolean;
  private readonly plainEveryMs: number;
  private readonly out: NodeJS.WriteStream;
  private timer: NodeJS.Timeout | undefined;
  private lastPlain = 0;
  private text = '';
  private drawn = false;
  private readonly render: () => string;

  constructor(
    render: () => string,
    options: { out?: NodeJS.WriteStream; plainEveryMs?: number; tty?: boolean } = {},
  ) {
    this.render = render;
    this.out = options.out ?? process.stdout;
    this.tty = options.tty ?? Boolean(this.out.isTTY);
    this.plainEveryMs = options.plainEveryMs ?? 10_000;
  }

  start(refreshMs = 250): this {
    this.lastPlain = Date.now();
    this.timer = setInterval(() => this.tick(), this.tty ? refreshMs : 1000);
    return this;
  }

  private tick(): void {
    this.text = this.render();
    if (this.tty) this.draw();
    else if (Date.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = Date.now();
      this.out.write(`  … ${this.text}\n`);
    }
  }

  private draw(): void {
    const width = this.out.columns || 120;
    this.out.write(`\r\x1b[2K${this.text.slice(0, width - 1)}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  /** Print a permanent line above the live one. */
  log(line: string): void {
    this.clear();
    this.out.write(line + '\n');
    if (this.tty && this.timer) this.draw();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }
}
