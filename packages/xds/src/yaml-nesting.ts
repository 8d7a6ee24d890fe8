/**
 * A bound on how deep YAML text nests, taken from its lexical tokens before the `yaml` parser builds
 * anything: the parser's memory and the composer's recursion grow with nesting (a two-megabyte line of
 * `[` exhausts the heap), so text far deeper than any config is stopped while it is being lexed.
 *
 * The estimate never falls below the real depth: open flow brackets, plus twice the open block
 * indentation levels (a block sequence may sit at its parent key's indentation), plus the block
 * indicators (`-`, `?`, `:`) on the current line (compact forms such as `- - a` nest on one line).
 * For a document of real depth d it stays below 4d + 2.
 */

/** The estimate may exceed the real depth by up to this factor (see above), plus PRESCAN_SLACK. */
export const PRESCAN_DEPTH_FACTOR = 4;
const PRESCAN_SLACK = 8;

/** The lexer's in-band markers (document, scalar, flow error end, byte order mark): not source text. */
const MARKERS = new Set(['\x02', '\x1f', '\x18', '\u{FEFF}']);

/** Thrown from the token stream when the estimate passes the bound. */
export class TooDeep extends Error {}

export class NestingEstimate {
  private flow = 0;
  /** Indentation columns of the open block lines, increasing. */
  private readonly indents: number[] = [];
  private atLineStart = true;
  private indent = 0;
  private indicators = 0;
  private readonly bound: number;

  constructor(maxDepth: number) {
    this.bound = PRESCAN_DEPTH_FACTOR * maxDepth + PRESCAN_SLACK;
  }

  /** Takes the next lexeme; throws TooDeep when the estimate passes the bound. */
  see(lexeme: string): void {
    if (MARKERS.has(lexeme)) return;
    if (lexeme === '' || lexeme === '\n' || lexeme === '\r\n' || lexeme.includes('\n')) {
      // A newline, or a scalar spanning lines (block scalar body, multi-line plain or quoted): a line starts.
      this.atLineStart = true;
      this.indent = 0;
      this.indicators = 0;
      return;
    }
    if (this.atLineStart) {
      const c = lexeme[0];
      if (c === ' ' || c === '\t') {
        this.indent = lexeme.length;
        return;
      }
      if (c === '#') return; // a comment line opens nothing
      this.atLineStart = false;
      if (this.flow === 0) this.openLine(this.indent);
    }
    switch (lexeme) {
      case '[':
      case '{':
        this.flow++;
        break;
      case ']':
      case '}':
        if (this.flow > 0) this.flow--;
        break;
      case '-':
      case '?':
      case ':':
        if (this.flow === 0) this.indicators++;
        break;
      case '---':
      case '...':
        this.indents.length = 0;
        this.flow = 0;
        break;
    }
    if (this.flow + 2 * this.indents.length + this.indicators > this.bound) throw new TooDeep();
  }

  private openLine(column: number): void {
    const indents = this.indents;
    while (indents.length > 0 && indents[indents.length - 1]! > column) indents.pop();
    if (indents.length === 0 || indents[indents.length - 1]! < column) indents.push(column);
  }
}
