/**
 * A private S3-compatible server (s3rver, a real HTTP server speaking the S3
 * API, storing objects on disk) on a free port, with one bucket: what the S3
 * storage path is tested against. Never the AWS SDK mocked.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { accepting } from './private-bus-servers.js';
import { freePort } from './private-postgres.js';

const S3RVER = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');

export interface PrivateS3 {
  endpoint: string;
  bucket: string;
  /** What a Tether server needs to keep its files there. */
  env: Record<string, string>;
  /** Objects in the bucket (s3rver keeps each as a directory of files on disk). */
  objectCount(): number;
  stop(): Promise<void>;
}

export async function startS3(bucket = 'tether-test'): Promise<PrivateS3> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-s3-'));
  const proc = spawn(process.execPath, [S3RVER, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent', '--configure-bucket', bucket], {
    stdio: 'ignore',
  });
  const exited = new Promise((r) => proc.once('exit', r));
  await accepting(port);
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      TETHER_S3_BUCKET: bucket,
      TETHER_S3_ENDPOINT: endpoint,
      // s3rver accepts any well-formed signature with these (its documented defaults).
      TETHER_S3_ACCESS_KEY_ID: 'S3RVER',
      TETHER_S3_SECRET_ACCESS_KEY: 'S3RVER',
    },
    objectCount() {
      const count = (d: string): number =>
        fs
          .readdirSync(d, { withFileTypes: true })
          .reduce((n, e) => n + (e.isDirectory() ? count(path.join(d, e.name)) : e.name.endsWith('._S3rver_object') ? 1 : 0), 0);
      return count(path.join(dir, bucket));
    },
    async stop() {
      proc.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
