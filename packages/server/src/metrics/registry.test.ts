import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from './registry.ts';

describe('MetricsRegistry', () => {
  it('renders HELP and TYPE for every family, labels in their declared order, and escapes', () => {
    const registry = new MetricsRegistry();
    registry.counter(
      {
        name: 'raftkit_test_rejected_total',
        help: 'Refused,\nby reason \\ kind.',
        labels: ['reason', 'peer'],
      },
      () => [
        [{ peer: 'n2', reason: 'replay' }, 3],
        [{ reason: 'odd"one\\\n', peer: 'n3' }, 0],
      ],
    );
    registry.gauge({ name: 'raftkit_test_peer_lag_entries', help: 'Lag.', labels: ['peer'] }, () => []);
    registry.gauge({ name: 'raftkit_test_ratio', help: 'Odd values.' }, () => [
      [{}, Number.POSITIVE_INFINITY],
    ]);
    expect(registry.render()).toBe(
      [
        '# HELP raftkit_test_rejected_total Refused,\\nby reason \\\\ kind.',
        '# TYPE raftkit_test_rejected_total counter',
        'raftkit_test_rejected_total{reason="replay",peer="n2"} 3',
        'raftkit_test_rejected_total{reason="odd\\"one\\\\\\n",peer="n3"} 0',
        '# HELP raftkit_test_peer_lag_entries Lag.',
        '# TYPE raftkit_test_peer_lag_entries gauge',
        '# HELP raftkit_test_ratio Odd values.',
        '# TYPE raftkit_test_ratio gauge',
        'raftkit_test_ratio +Inf',
        '',
      ].join('\n'),
    );
  });

  it('renders a histogram as cumulative buckets with +Inf, sum and count, labels before le', () => {
    const registry = new MetricsRegistry();
    registry.histogram({ name: 'raftkit_test_duration_seconds', help: 'Time.', labels: ['route'] }, () => [
      [{ route: '/v1/kv/:key' }, { bounds: [0.1, 1], counts: [1, 2], count: 3, sum: 2.5 }],
    ]);
    expect(registry.render().split('\n').slice(2, -1)).toEqual([
      'raftkit_test_duration_seconds_bucket{route="/v1/kv/:key",le="0.1"} 1',
      'raftkit_test_duration_seconds_bucket{route="/v1/kv/:key",le="1"} 2',
      'raftkit_test_duration_seconds_bucket{route="/v1/kv/:key",le="+Inf"} 3',
      'raftkit_test_duration_seconds_sum{route="/v1/kv/:key"} 2.5',
      'raftkit_test_duration_seconds_count{route="/v1/kv/:key"} 3',
    ]);
  });

  it('refuses names and labels that break Prometheus conventions, before any scrape', () => {
    const registry = new MetricsRegistry();
    const none = () => [];
    expect(() => registry.counter({ name: 'raftkit_test_rejected', help: 'x' }, none)).toThrow(/_total/);
    expect(() => registry.gauge({ name: 'raftkit_test_items_total', help: 'x' }, none)).toThrow(/reserves/);
    expect(() => registry.gauge({ name: 'raftkit_testRole', help: 'x' }, none)).toThrow(/snake_case/);
    expect(() => registry.gauge({ name: 'raftkit_test_a', help: ' ' }, none)).toThrow(/help/);
    expect(() => registry.gauge({ name: 'raftkit_test_b', help: 'x', labels: ['le'] }, none)).toThrow(
      /label/,
    );
    expect(() => registry.gauge({ name: 'raftkit_test_c', help: 'x', labels: ['peerId'] }, none)).toThrow(
      /label/,
    );
    registry.gauge({ name: 'raftkit_test_d', help: 'x' }, none);
    expect(() => registry.gauge({ name: 'raftkit_test_d', help: 'x' }, none)).toThrow(/twice/);
  });
});
