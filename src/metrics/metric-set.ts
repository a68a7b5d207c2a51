/**
 * One process's metric definitions: creates prom-client counters, gauges and histograms on a registry the caller owns
 * (never the global default) and remembers each definition (name, type, labels, help), so docs/metrics.md can be
 * checked against what a process really registers.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { VrGrpoError } from '../errors/index.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** What a registered metric is: documented one row per definition in docs/metrics.md. */
export interface MetricDefinition {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly string[];
}

/** Every metric name of the project starts with this prefix. */
export const METRIC_PREFIX = 'vrgrpo_';

const NAME = /^vrgrpo_[a-z][a-z0-9_]*$/;

export class MetricSet {
  readonly #registry: Registry;
  readonly #definitions: MetricDefinition[] = [];

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  /** Definitions in registration order. */
  definitions(): readonly MetricDefinition[] {
    return this.#definitions;
  }

  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    if (!name.endsWith('_total')) throw new VrGrpoError('INVALID_ARGUMENT', `counter ${name}: a counter's name ends with _total`);
    this.#define(name, 'counter', help, labelNames);
    return new Counter<L>({ name, help, labelNames, registers: [this.#registry] });
  }

  /** `collect`, when given, runs at every scrape to set the gauge's current value(s). */
  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = [], collect?: (gauge: Gauge<L>) => void): Gauge<L> {
    this.#define(name, 'gauge', help, labelNames);
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.#registry],
      ...(collect === undefined
        ? {}
        : {
            collect(this: Gauge<L>): void {
              collect(this);
            },
          }),
    });
  }

  histogram<L extends string = never>(name: string, help: string, buckets: readonly number[], labelNames: readonly L[] = []): Histogram<L> {
    this.#define(name, 'histogram', help, labelNames);
    return new Histogram<L>({ name, help, labelNames, buckets: [...buckets], registers: [this.#registry] });
  }

  #define(name: string, type: MetricType, help: string, labelNames: readonly string[]): void {
    if (!NAME.test(name)) throw new VrGrpoError('INVALID_ARGUMENT', `metric ${name}: names are snake_case and start with ${METRIC_PREFIX}`);
    if (type !== 'counter' && name.endsWith('_total')) throw new VrGrpoError('INVALID_ARGUMENT', `${type} ${name}: only counters end with _total`);
    if (this.#definitions.some((d) => d.name === name)) throw new VrGrpoError('INVALID_ARGUMENT', `metric ${name} is defined twice`);
    this.#definitions.push(Object.freeze({ name, type, help, labelNames: Object.freeze([...labelNames]) }));
  }
}
