import { VERSION } from './version.ts';

/**
 * The OpenAPI 3.1 description of the client API, served at `GET /openapi.json`. A test checks it
 * against the app both ways: every documented operation exists and answers with a documented
 * status, and every route the app serves (peer and internal routes aside) is documented.
 */
const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string) => ({ description, content: json(ref('Error')) });

const errors = {
  '401': error('Missing or wrong bearer token (when a client token is configured).'),
  '503': {
    description:
      'No leader is known, a read was not served in time (no quorum confirmed it), or the node is busy or stopping: nothing happened; retry after `Retry-After` seconds.',
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
    content: json(ref('Error')),
  },
} as const;
const writeErrors = {
  ...errors,
  '400': error('Malformed request.'),
  '409': error('In a session: the request number was acknowledged already, or is too old to recognize.'),
  '410': error('In a session: the session expired or never existed; nothing was applied.'),
  '413': error('Key or value over the size limit (checked before the body is read).'),
  '504': error(
    'No answer in time: the write may or may not have been applied; in a session, retry it as is.',
  ),
} as const;

/** Exactly-once writes: all three or none (see `POST /v1/sessions`). */
const sessionHeaders = [
  {
    name: 'raftkit-session',
    in: 'header',
    description: 'A session id from `POST /v1/sessions`.',
    schema: { type: 'integer' },
  },
  {
    name: 'raftkit-seq',
    in: 'header',
    description: 'This write’s number in the session: 1, 2, 3, ...',
    schema: { type: 'integer' },
  },
  {
    name: 'raftkit-acked',
    in: 'header',
    description: 'Every number below this one has been answered: the server may forget them. Default 1.',
    schema: { type: 'integer' },
  },
];

const gzipResponse = (description: string) => ({
  description,
  headers: { 'Content-Disposition': { schema: { type: 'string' } } },
  content: { 'application/gzip': {} },
});
const keyParam = { name: 'key', in: 'path', required: true, schema: { type: 'string', minLength: 1 } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const indexResponse = { description: 'Committed and applied at `index`.', content: json(ref('Index')) };
const membersResponse = { description: 'The membership after the change.', content: json(ref('Members')) };
const membershipErrors = {
  ...errors,
  '400': error('Malformed request or a change that would break an invariant.'),
  '404': error('No such member.'),
  '409': error(
    'Another membership change is still in progress, or the learner to promote is still catching up.',
  ),
  '504': error('No answer in time: the change may or may not have been applied.'),
} as const;

/** An OpenAPI 3.1 operation, as far as this document uses its fields. */
export interface OpenApiOperation {
  readonly operationId: string;
  readonly summary: string;
  readonly parameters?: readonly object[];
  readonly requestBody?: object;
  /** By status code (or `default`): the response object. */
  readonly responses: Readonly<Record<string, object>>;
  /** Overrides the document's `security`; `[]` means open. */
  readonly security?: readonly object[];
}

/** An OpenAPI 3.1 path item: parameters shared by its operations, and an operation per method. */
export interface OpenApiPathItem {
  readonly parameters?: readonly object[];
  readonly get?: OpenApiOperation;
  readonly put?: OpenApiOperation;
  readonly post?: OpenApiOperation;
  readonly delete?: OpenApiOperation;
}

/**
 * The shape of {@link openApiDocument}: an OpenAPI 3.1 document with the fields it fills in.
 * Written out (rather than inferred from the literal) so the published API has a stable,
 * explicit type.
 */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: {
    readonly title: string;
    readonly version: string;
    readonly license: { readonly name: string; readonly identifier: string };
    readonly description: string;
  };
  readonly components: {
    readonly securitySchemes: Readonly<Record<string, object>>;
    readonly schemas: Readonly<Record<string, object>>;
  };
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly paths: Readonly<Record<string, OpenApiPathItem>>;
}

/** The OpenAPI 3.1 description of the client API, served at `/openapi.json`. */
export const openApiDocument: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'raftkit KV server',
    version: VERSION,
    license: { name: 'MIT', identifier: 'MIT' },
    description: 'The client API of a raftkit node: a replicated key-value store on Raft.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
      Index: { type: 'object', required: ['index'], properties: { index: { type: 'integer' } } },
      Member: {
        type: 'object',
        required: ['id', 'url', 'role', 'matchIndex'],
        properties: {
          id: { type: 'string' },
          url: { type: 'string' },
          role: { enum: ['voter', 'learner'] },
          matchIndex: { type: ['integer', 'null'], description: 'Known on the leader only.' },
          lag: {
            type: ['integer', 'null'],
            description: 'Leader only: entries of its log the member does not have yet.',
          },
          lastContactMs: {
            type: ['integer', 'null'],
            description: 'Leader only: milliseconds since a message from the member arrived.',
          },
        },
      },
      Stats: {
        type: 'object',
        required: ['at', 'version', 'runtime', 'status', 'writes', 'leaderChanges'],
        properties: {
          at: { type: 'integer', description: 'Milliseconds since the epoch when taken.' },
          version: { type: 'string' },
          runtime: { type: 'string' },
          status: ref('Status'),
          writes: {
            type: 'object',
            description: 'Client writes answered with 2xx here, and the seconds they took in all.',
            properties: { count: { type: 'integer' }, seconds: { type: 'number' } },
          },
          leaderChanges: {
            type: 'object',
            properties: {
              total: { type: 'integer' },
              recent: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    at: { type: 'integer' },
                    leader: { type: ['string', 'null'] },
                    term: { type: 'integer' },
                  },
                },
              },
            },
          },
        },
      },
      Members: { type: 'object', properties: { members: { type: 'array', items: ref('Member') } } },
      BackupJob: {
        type: 'object',
        required: [
          'id',
          'state',
          'startedAt',
          'finishedAt',
          'bytes',
          'totalBytes',
          'percent',
          'index',
          'error',
        ],
        properties: {
          id: { type: 'string' },
          state: {
            enum: ['running', 'done', 'failed'],
            description: '`done` only once the file was written and verified on disk.',
          },
          startedAt: { type: 'string', format: 'date-time' },
          finishedAt: { type: ['string', 'null'], format: 'date-time' },
          bytes: {
            type: 'integer',
            description: 'While running, state bytes written so far; once done, the archive file’s size.',
          },
          totalBytes: {
            type: ['integer', 'null'],
            description: 'The snapshot state’s size, known once it has been copied aside.',
          },
          percent: {
            type: 'integer',
            minimum: 0,
            maximum: 100,
            description:
              '0 while the snapshot is copied aside, up to 50 while the archive is written, up to 99 while it is verified on disk, 100 once done.',
          },
          index: { type: ['integer', 'null'], description: 'The snapshot index backed up, once known.' },
          error: {
            oneOf: [
              {
                type: 'object',
                required: ['code', 'message'],
                properties: { code: { type: 'string' }, message: { type: 'string' } },
              },
              { type: 'null' },
            ],
            description: 'Why a failed job failed: the backup error code (or `Internal`) and message.',
          },
        },
      },
      Status: {
        type: 'object',
        required: ['id', 'role', 'term', 'leader', 'commitIndex', 'appliedIndex', 'members'],
        properties: {
          id: { type: 'string' },
          role: { type: 'string' },
          term: { type: 'integer' },
          leader: { type: ['string', 'null'] },
          commitIndex: { type: 'integer' },
          appliedIndex: { type: 'integer' },
          members: { type: 'array', items: ref('Member') },
        },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/v1/kv': {
      get: {
        operationId: 'listKeys',
        summary: 'List keys in order, a page at a time.',
        parameters: [
          { name: 'prefix', in: 'query', schema: { type: 'string' } },
          {
            name: 'after',
            in: 'query',
            description: 'Start after this key (the previous page’s `next`).',
            schema: { type: 'string' },
          },
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          { name: 'consistency', in: 'query', schema: { enum: ['linearizable', 'lease', 'stale'] } },
        ],
        responses: {
          '200': {
            description: 'Keys and the cursor of the next page (null on the last one).',
            content: json({
              type: 'object',
              properties: {
                keys: { type: 'array', items: { type: 'string' } },
                next: { type: ['string', 'null'] },
              },
            }),
          },
          '400': error('Bad limit or consistency.'),
          ...errors,
        },
      },
    },
    '/v1/kv/{key}': {
      parameters: [keyParam],
      get: {
        operationId: 'getValue',
        summary: 'Read a value.',
        parameters: [
          {
            name: 'consistency',
            in: 'query',
            description: '`linearizable` (ReadIndex), `lease` (leader lease) or `stale` (local, may lag).',
            schema: { enum: ['linearizable', 'lease', 'stale'], default: 'linearizable' },
          },
        ],
        responses: {
          '200': { description: 'The value, raw bytes.', content: { 'application/octet-stream': {} } },
          '400': error('Bad consistency.'),
          '404': error('No such key.'),
          '413': error('Key over the size limit.'),
          ...errors,
        },
      },
      put: {
        operationId: 'putValue',
        summary:
          'Write a value (the raw request body). Any node accepts it; followers forward to the leader.',
        parameters: sessionHeaders,
        requestBody: { content: { 'application/octet-stream': {} } },
        responses: { '200': indexResponse, ...writeErrors },
      },
      delete: {
        operationId: 'deleteKey',
        summary: 'Delete a key.',
        parameters: sessionHeaders,
        responses: { '200': indexResponse, ...writeErrors },
      },
    },
    '/v1/kv/{key}/cas': {
      parameters: [keyParam],
      post: {
        operationId: 'compareAndSwap',
        summary: 'Compare and swap: `null` expected means absent, `null` value means delete.',
        parameters: sessionHeaders,
        requestBody: {
          content: json({
            type: 'object',
            required: ['expected', 'value'],
            properties: { expected: { type: ['string', 'null'] }, value: { type: ['string', 'null'] } },
          }),
        },
        responses: {
          '200': indexResponse,
          ...writeErrors,
          '409': {
            description:
              'The current value differs from `expected`; it is returned (null: absent). In a session, also a request number acknowledged already (code `StaleRequest`).',
            content: json({
              allOf: [ref('Error'), { properties: { current: { type: ['string', 'null'] } } }],
            }),
          },
        },
      },
    },
    '/v1/sessions': {
      post: {
        operationId: 'openSession',
        summary:
          'Open a client session for exactly-once writes (Raft dissertation §6.3): number each write in it, and a retried write is applied at most once, answered with its first outcome (`raftkit-duplicate: true`).',
        responses: {
          '200': {
            description: 'The session id, and how long it lives unused.',
            content: json({
              type: 'object',
              required: ['session', 'ttlMs'],
              properties: { session: { type: 'integer' }, ttlMs: { type: 'integer' } },
            }),
          },
          ...errors,
          '504': error('No answer in time: a session may have been opened; open another.'),
        },
      },
    },
    '/v1/status': {
      get: {
        operationId: 'getStatus',
        summary: 'This node’s view of the cluster.',
        responses: { '200': { description: 'Status.', content: json(ref('Status')) }, ...errors },
      },
    },
    '/v1/stats': {
      get: {
        operationId: 'getStats',
        summary: 'This node’s status with the counters the dashboard charts.',
        responses: { '200': { description: 'Stats.', content: json(ref('Stats')) }, ...errors },
      },
    },
    '/v1/cluster': {
      get: {
        operationId: 'getCluster',
        summary:
          'Every member’s stats, asked by this node in parallel, with the leader’s view of each member (lag, last contact).',
        responses: {
          '200': {
            description: 'One entry per member; an unreachable member has `stats: null` and an `error`.',
            content: json({
              type: 'object',
              properties: {
                at: { type: 'integer' },
                via: { type: 'string' },
                leader: { type: ['string', 'null'] },
                members: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' },
                      url: { type: ['string', 'null'] },
                      role: { enum: ['voter', 'learner'] },
                      health: { enum: ['ok', 'unreachable', 'no-leader', 'applying', 'stopping'] },
                      error: { type: ['string', 'null'] },
                      stats: { oneOf: [ref('Stats'), { type: 'null' }] },
                      matchIndex: { type: ['integer', 'null'] },
                      lag: { type: ['integer', 'null'] },
                      lastContactMs: { type: ['integer', 'null'] },
                    },
                  },
                },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/members': {
      post: {
        operationId: 'addMember',
        summary: 'Add a member (voter or learner).',
        requestBody: {
          content: json({
            type: 'object',
            required: ['id', 'url'],
            properties: {
              id: { type: 'string' },
              url: { type: 'string' },
              role: { enum: ['voter', 'learner'] },
            },
          }),
        },
        responses: { '200': membersResponse, ...membershipErrors, '413': error('Body over the size limit.') },
      },
    },
    '/v1/members/{id}': {
      parameters: [idParam],
      delete: {
        operationId: 'removeMember',
        summary: 'Remove a member.',
        responses: { '200': membersResponse, ...membershipErrors },
      },
    },
    '/v1/members/{id}/promote': {
      parameters: [idParam],
      post: {
        operationId: 'promoteMember',
        summary: 'Promote a learner to voter.',
        responses: { '200': membersResponse, ...membershipErrors },
      },
    },
    '/v1/leader/transfer': {
      post: {
        operationId: 'transferLeadership',
        summary: 'Hand leadership to another voter.',
        requestBody: {
          content: json({ type: 'object', required: ['to'], properties: { to: { type: 'string' } } }),
        },
        responses: {
          '200': {
            description: 'The leader afterwards.',
            content: json({ type: 'object', properties: { leader: { type: ['string', 'null'] } } }),
          },
          ...membershipErrors,
          '413': error('Body over the size limit.'),
        },
      },
    },
    '/v1/backup': {
      get: {
        operationId: 'exportBackup',
        summary:
          'Stream a backup (tar.gz with a SHA-256 manifest, see @raftkit/backup) of this node’s latest snapshot: committed and applied, consistent while writes continue.',
        responses: {
          '200': gzipResponse('The backup, named in `Content-Disposition`.'),
          '409': error('The node has taken no snapshot yet (code `NoSnapshot`).'),
          ...errors,
        },
      },
    },
    '/v1/backups': {
      get: {
        operationId: 'listBackups',
        summary: 'This node’s backup jobs since it started, newest first.',
        responses: {
          '200': {
            description: 'The jobs, and the id of the newest done one.',
            content: json({
              type: 'object',
              required: ['backups', 'latest'],
              properties: {
                backups: { type: 'array', items: ref('BackupJob') },
                latest: { type: ['string', 'null'] },
              },
            }),
          },
          ...errors,
        },
      },
      post: {
        operationId: 'startBackup',
        summary:
          'Start a backup job into the node’s backup directory; poll `GET /v1/backups/{id}` for its progress.',
        responses: {
          '202': { description: 'The job, started.', content: json(ref('BackupJob')) },
          '409': error('A backup job is running already (code `BackupInProgress`, its `id` given).'),
          ...errors,
        },
      },
    },
    '/v1/backups/{id}': {
      parameters: [idParam],
      get: {
        operationId: 'getBackup',
        summary: 'One backup job: its state and progress.',
        responses: {
          '200': { description: 'The job.', content: json(ref('BackupJob')) },
          '404': error('No such job on this node (jobs are kept in memory until it restarts).'),
          ...errors,
        },
      },
    },
    '/v1/backups/{id}/download': {
      parameters: [idParam],
      get: {
        operationId: 'downloadBackup',
        summary: 'The file of a done backup job.',
        responses: {
          '200': gzipResponse('The backup file.'),
          '404': error('No such job, or it is not done.'),
          ...errors,
        },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        summary: 'The process is alive.',
        security: [],
        responses: { '200': { description: 'Alive.' } },
      },
    },
    '/ready': {
      get: {
        operationId: 'ready',
        summary: 'A leader is known and everything committed is applied here.',
        security: [],
        responses: { '200': { description: 'Ready.' }, '503': errors['503'] },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics.',
        security: [],
        responses: {
          '200': { description: 'Prometheus text format 0.0.4.', content: { 'text/plain': {} } },
        },
      },
    },
    '/ui': {
      get: {
        operationId: 'dashboard',
        summary: 'The live dashboard (HTML); it asks for the client token to call the API.',
        security: [],
        responses: { '200': { description: 'The page.', content: { 'text/html': {} } } },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openApi',
        summary: 'This document.',
        responses: { '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) }, ...errors },
      },
    },
  },
};
