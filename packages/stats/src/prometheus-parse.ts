/**
 * A strict parser for the Prometheus text format 0.0.4, for checking exposition. It rejects what
 * a Prometheus server would: bad names, bad escapes, unparsable values, samples outside their
 * declared family, duplicate families or series, and histograms whose buckets are not cumulative
 * or whose `+Inf` bucket differs from `_count`. Errors name the line.
 */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly help: string | undefined;
  readonly samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const series = new Set<string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, index) => {
    const at = `line ${index + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`${at}: bad metric name "${name}"`);
      const existing = families.get(name);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${at}: bad type "${rest}"`);
        if (existing && existing.samples.length > 0) throw new Error(`${at}: TYPE for ${name} after its samples`);
        if (existing && (existing as { typed?: boolean }).typed) throw new Error(`${at}: second TYPE for ${name}`);
        families.set(name, { name, type: rest as PromFamily['type'], help: existing?.help, samples: existing?.samples ?? [], typed: true } as PromFamily);
      } else {
        if (existing?.help !== undefined) throw new Error(`${at}: second HELP for ${name}`);
        unescape(rest, at, false);
        families.set(name, { name, type: existing?.type ?? 'untyped', help: rest, samples: existing?.samples ?? [], ...(existing && (existing as { typed?: boolean }).typed ? { typed: true } : {}) } as PromFamily);
      }
      return;
    }
    const sample = parseSample(line, at);
    const family = familyOf(sample.name, families);
    if (!family) throw new Error(`${at}: sample ${sample.name} has no declared family`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (series.has(key)) throw new Error(`${at}: duplicate series ${key}`);
    series.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function familyOf(sampleName: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const direct = families.get(sampleName);
  if (direct && direct.type !== 'histogram' && direct.type !== 'summary') return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const base = families.get(sampleName.slice(0, -suffix.length));
    if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  if (direct?.type === 'summary') return direct;
  return undefined;
}

function parseSample(line: string, at: string): PromSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
  if (!m) throw new Error(`${at}: unparsable sample "${line}"`);
  const labels = m[3] === undefined ? {} : parseLabels(m[3], at);
  return { name: m[1]!, labels, value: parseValue(m[4]!, at) };
}

function parseLabels(body: string, at: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    if (eq < 0) throw new Error(`${at}: label without "="`);
    const name = body.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`${at}: bad label name "${name}"`);
    if (name in labels) throw new Error(`${at}: duplicate label ${name}`);
    if (body[eq + 1] !== '"') throw new Error(`${at}: label ${name} value not quoted`);
    let j = eq + 2;
    let raw = '';
    for (;;) {
      if (j >= body.length) throw new Error(`${at}: unterminated value of label ${name}`);
      const c = body[j]!;
      if (c === '\\') {
        raw += c + (body[j + 1] ?? '');
        j += 2;
        continue;
      }
      if (c === '"') break;
      raw += c;
      j++;
    }
    labels[name] = unescape(raw, at, true);
    i = j + 1;
    if (i < body.length) {
      if (body[i] !== ',') throw new Error(`${at}: expected "," after label ${name}`);
      i++;
    }
  }
  return labels;
}

function unescape(raw: string, at: string, quotes: boolean): string {
  return raw.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quotes) return '"';
    throw new Error(`${at}: bad escape "\\${c}"`);
  });
}

function parseValue(text: string, at: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${at}: bad value "${text}"`);
  return Number(text);
}

function checkHistogram(family: PromFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { buckets: [] }));
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      g.buckets.push([parseValue(le, family.name), s.value]);
    } else if (s.name.endsWith('_count')) g.count = s.value;
    else if (s.name.endsWith('_sum')) g.sum = s.value;
  }
  for (const [key, g] of groups) {
    if (g.count === undefined || g.sum === undefined) throw new Error(`${family.name}${key}: missing _count or _sum`);
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${family.name}${key}: buckets not cumulative at le=${sorted[i]![0]}`);
    }
    const inf = sorted[sorted.length - 1];
    if (!inf || inf[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
    if (inf[1] !== g.count) throw new Error(`${family.name}${key}: +Inf bucket ${inf[1]} != _count ${g.count}`);
  }
}
