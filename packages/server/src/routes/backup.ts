import { Hono } from 'hono';
import type { BackupJobs } from '../backup-jobs.ts';

const gzipHeaders = (name: string) => ({
  'content-type': 'application/gzip',
  'content-disposition': `attachment; filename="${name}"`,
});

/**
 * Backups: `GET /v1/backup` streams one of the latest snapshot as it is made; the jobs under
 * `/v1/backups` write one into the node's backup directory, verified before it is reported done.
 * Behind the client token like every `/v1` route.
 */
export function backupRoutes(jobs: BackupJobs): Hono {
  return new Hono()
    .get('/backup', async (c) => {
      const { stream, index, clusterId } = await jobs.exportNow();
      return c.body(stream, 200, gzipHeaders(`raftkit-backup-${clusterId}-${index}.tar.gz`));
    })
    .post('/backups', (c) => c.json(jobs.start(), 202))
    .get('/backups', (c) => c.json(jobs.list()))
    .get('/backups/:id', (c) => c.json(jobs.get(c.req.param('id'))))
    .get('/backups/:id/download', (c) => {
      const { stream, name } = jobs.download(c.req.param('id'));
      return c.body(stream, 200, gzipHeaders(name));
    });
}
