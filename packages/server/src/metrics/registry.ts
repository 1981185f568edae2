import type { Histogram } from '@raftkit/node';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One family as an operator reads it: described once, here, and rendered from this description. */
export interface FamilySpec<L extends string> {
  /** `<namespace>_<subsystem>_<what>_<unit>`; counters end in `_total`. */
  readonly name: string;
  readonly help: string;
  /** Label names, in the order they are rendered. Reasons and peers are labels, never name parts. */
  readonly labels?: readonly L[];
}

/** A sample's labels: exactly the family's label names. */
export type Labels<L extends string> = Readonly<Record<L, string>>;
export type Sample<L extends string> = readonly [labels: Labels<L>, value: number];
export type HistogramSample<L extends string> = readonly [labels: Labels<L>, histogram: Histogram];

interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  readonly collect: () => Iterable<readonly [Labels<string>, number | Histogram]>;
}

const NAME = /^[a-z_][a-z0-9_]*$/;
const LABEL = /^[a-z_][a-z0-9_]*$/;
/** Names promtool reserves or reads as a type, so they may not end a family name. */
const RESERVED_SUFFIXES = ['_count', '_sum', '_bucket', '_total', '_counter', '_gauge', '_histogram'];

/**
 * The metric families of one node and how they render in the Prometheus text format (0.0.4).
 * Each family is registered once with its name, help, type and label names plus a function that
 * collects its samples at scrape time; a name that breaks Prometheus' naming rules is refused at
 * registration, so a bad name fails the first test that builds the app rather than a scrape.
 */
export class MetricsRegistry {
  readonly #families = new Map<string, Family>();

  counter<const L extends string = never>(spec: FamilySpec<L>, collect: () => Iterable<Sample<L>>): void {
    if (!spec.name.endsWith('_total')) throw new TypeError(`counter ${spec.name} must end in _total`);
    this.#add('counter', spec, collect);
  }

  gauge<const L extends string = never>(spec: FamilySpec<L>, collect: () => Iterable<Sample<L>>): void {
    this.#add('gauge', spec, collect);
  }

  histogram<const L extends string = never>(
    spec: FamilySpec<L>,
    collect: () => Iterable<HistogramSample<L>>,
  ): void {
    this.#add('histogram', spec, collect);
  }

  /** Every family, in registration order: HELP, TYPE, then its samples. */
  render(): string {
    const lines: string[] = [];
    for (const family of this.#families.values()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      for (const [labels, value] of family.collect()) {
        if (typeof value === 'number')
          lines.push(`${family.name}${renderLabels(family, labels)} ${num(value)}`);
        else renderHistogram(lines, family, labels, value);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  #add(type: MetricType, spec: FamilySpec<string>, collect: Family['collect']): void {
    const { name } = spec;
    if (!NAME.test(name)) throw new TypeError(`metric name ${JSON.stringify(name)} is not snake_case`);
    if (type !== 'counter' && RESERVED_SUFFIXES.some((suffix) => name.endsWith(suffix))) {
      throw new TypeError(`${type} ${name} ends in a suffix Prometheus reserves`);
    }
    if (this.#families.has(name)) throw new TypeError(`metric ${name} is registered twice`);
    const labels = spec.labels ?? [];
    for (const label of labels) {
      if (!LABEL.test(label) || label.startsWith('__') || label === 'le') {
        throw new TypeError(`label ${JSON.stringify(label)} of ${name} is not a usable label name`);
      }
    }
    if (spec.help.trim() === '') throw new TypeError(`metric ${name} needs a help text`);
    this.#families.set(name, { name, type, help: spec.help, labels, collect });
  }
}

function renderHistogram(lines: string[], family: Family, labels: Labels<string>, h: Histogram): void {
  const base = family.labels.map((label) => `${label}="${escapeValue(labels[label] ?? '')}"`);
  const withLe = (le: string) => `{${[...base, `le="${le}"`].join(',')}}`;
  for (const [i, bound] of h.bounds.entries()) {
    lines.push(`${family.name}_bucket${withLe(num(bound))} ${h.counts[i] ?? 0}`);
  }
  const plain = renderLabels(family, labels);
  lines.push(
    `${family.name}_bucket${withLe('+Inf')} ${h.count}`,
    `${family.name}_sum${plain} ${num(h.sum)}`,
    `${family.name}_count${plain} ${h.count}`,
  );
}

function renderLabels(family: Family, labels: Labels<string>): string {
  if (family.labels.length === 0) return '';
  return `{${family.labels.map((label) => `${label}="${escapeValue(labels[label] ?? '')}"`).join(',')}}`;
}

function num(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeValue = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** `queueFull` → `queue_full`: label values in the same case as the names around them. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
