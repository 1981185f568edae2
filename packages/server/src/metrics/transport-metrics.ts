import type { TransportMetrics } from '@raftkit/transport-http';
import { type MetricsRegistry, snakeCase } from './registry.ts';

/**
 * The peer transport's counters (etcd's `etcd_network_peer_*` are the model): traffic, and every
 * way a message can be lost, with the reason as a label.
 */
export function registerTransportMetrics(registry: MetricsRegistry, metrics: () => TransportMetrics): void {
  const counter = (name: string, help: string, value: (m: TransportMetrics) => number) =>
    registry.counter({ name: `raftkit_transport_${name}`, help }, () => [[{}, value(metrics())]]);
  const byReason = (name: string, help: string, value: (m: TransportMetrics) => Record<string, number>) =>
    registry.counter({ name: `raftkit_transport_${name}`, help, labels: ['reason'] }, () =>
      Object.entries(value(metrics())).map(([reason, n]) => [{ reason: snakeCase(reason) }, n]),
    );

  counter('messages_sent_total', 'Raft messages sent to peers.', (m) => m.messagesSent);
  counter(
    'batches_sent_total',
    'Message batches sent to peers (as stream frames or requests).',
    (m) => m.batchesSent,
  );
  counter(
    'holds_total',
    'Times messages that may wait (commit notices) were held back to leave with the next ones.',
    (m) => m.holds,
  );
  counter(
    'streams_served_total',
    'Message streams peers opened to read from this node.',
    (m) => m.streamsServed,
  );
  counter(
    'streams_opened_total',
    'Message streams this node opened to read from peers.',
    (m) => m.streamsOpened,
  );
  counter('sent_bytes_total', 'Bytes of message batches sent to peers.', (m) => m.bytesSent);
  byReason(
    'messages_dropped_total',
    'Outgoing messages dropped before they left, by reason.',
    (m) => m.dropped,
  );
  byReason(
    'send_failures_total',
    'Requests to peers that failed, by reason; their messages are lost.',
    (m) => m.sendErrors,
  );
  counter('messages_received_total', 'Raft messages received from peers.', (m) => m.messagesReceived);
  counter('batches_received_total', 'Message batches received from peers.', (m) => m.batchesReceived);
  counter(
    'received_bytes_total',
    'Bytes received from peers (batches and snapshot chunks).',
    (m) => m.bytesReceived,
  );
  byReason('requests_rejected_total', 'Peer requests refused, by reason.', (m) => m.rejected);
  counter(
    'messages_unknown_group_total',
    'Received messages dropped because no group with their id is hosted here.',
    (m) => m.droppedUnknownGroup,
  );
  counter('handler_errors_total', 'Deliveries whose group handler threw.', (m) => m.handlerErrors);
  counter('snapshots_sent_total', 'Snapshot transfers to peers that completed.', (m) => m.snapshots.sent);
  counter(
    'snapshot_send_failures_total',
    'Snapshot transfers to peers that failed.',
    (m) => m.snapshots.failed,
  );
  counter(
    'snapshots_received_total',
    'Snapshot transfers from peers that completed.',
    (m) => m.snapshots.received,
  );
  counter('snapshot_sent_bytes_total', 'Bytes of snapshot chunks sent.', (m) => m.snapshots.bytesSent);
  counter(
    'snapshot_received_bytes_total',
    'Bytes of snapshot chunks received.',
    (m) => m.snapshots.bytesReceived,
  );
}
