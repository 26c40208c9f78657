import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from 'typebox';
import { auditContextOf } from '../access/audit-context.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { nextCursor } from '../http/pagination.ts';
import { TesseraError } from '../platform/errors.ts';
import type { BackupListing } from './backup-dir.ts';
import { backupFileName } from './backup-names.ts';
import type { SignatureStatus } from './backup-signature.ts';
import { BackupErrors } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { openRegularFile } from './read-backup.ts';
import type { BackupService } from './service.ts';

export interface BackupRoutesOptions {
  readonly backups: BackupService;
  /** Downloads are recorded here; creation and deletion by the service itself. */
  readonly audit: Pick<AuditLog, 'record'>;
}

const Count = Type.Integer({ minimum: 0 });
const Position = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);
const orNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const BackupSchema = Type.Object({
  id: Type.String({ description: 'UTC creation time and 6 random hex digits.' }),
  created_at: Type.String({ format: 'date-time' }),
  size_bytes: Type.Integer({ description: 'Size of the file.' }),
  engine: orNull(Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')])),
  schema_version: orNull(Count),
  tessera_version: orNull(Type.String()),
  encrypted: orNull(Type.Boolean()),
  events: orNull(
    Type.Object({
      count: Count,
      first_position: Position,
      last_position: Position,
      head_position: Count,
    }),
  ),
  tables: orNull(
    Type.Array(
      Type.Object({
        table: Type.String(),
        rows: Count,
        bytes: Type.Integer({ description: 'Stored: compressed, and encrypted if the backup is.' }),
        sha256: Type.String(),
      }),
    ),
  ),
  signature: orNull(
    Type.Union(
      [
        Type.Literal('valid'),
        Type.Literal('invalid'),
        Type.Literal('unsigned'),
        Type.Literal('unknown_key'),
      ],
      {
        description:
          "The backup's signature under this node's key (backup.signing_key, else derived from the master key): `valid`; `invalid`, changed after it was made; `unsigned`, made before backups were signed; `unknown_key`, signed with another key. Verify and restore refuse all but `valid` (unless told to accept unsigned ones). Null for an unreadable file.",
      },
    ),
  ),
  problem: orNull(
    Type.String({
      description:
        'Why the file could not be read (the other fields from its manifest are then null); null for a readable backup. `tessera backup verify` checks every byte.',
    }),
  ),
});

interface BackupSummarySource {
  readonly id: string;
  readonly size: number;
  readonly manifest: Manifest | undefined;
  readonly problem?: string | undefined;
  readonly signature: SignatureStatus | undefined;
}

function toBackupJson(backup: BackupSummarySource, createdAt: string) {
  const m = backup.manifest;
  return {
    id: backup.id,
    created_at: createdAt,
    size_bytes: backup.size,
    engine: m?.engine ?? null,
    schema_version: m?.schema_version ?? null,
    tessera_version: m?.tessera_version ?? null,
    encrypted: m ? m.encryption !== null : null,
    events: m
      ? {
          count: m.events.count,
          first_position: m.events.first_position,
          last_position: m.events.last_position,
          head_position: m.events.head_position,
        }
      : null,
    tables: m
      ? m.tables.map(({ table, rows, bytes, sha256 }) => ({ table, rows, bytes, sha256 }))
      : null,
    signature: backup.signature ?? null,
    problem: backup.problem ?? null,
  };
}

const listingJson = (backup: BackupListing) => toBackupJson(backup, backup.created_at);

const IdParams = Type.Object({
  // Not checked here: any id that is not a backup's, path tricks included, is a 404.
  id: Type.String({ description: 'A backup id, e.g. `20261126T031500123Z-a1b2c3`.' }),
});
const access = 'platform:backups';
const tags = ['backups'];

/** `/api/v1/backups`: backups of the whole deployment, for platform administrators. */
export const backupRoutes: FastifyPluginAsyncTypebox<BackupRoutesOptions> = async (
  app,
  { backups, audit },
) => {
  app.post(
    '/backups',
    {
      config: { access, stepUp: true },
      schema: {
        tags,
        summary: 'Make a backup now, into the backup directory of the node answering',
        description:
          'Answers once the file is complete. 409 `backup_in_progress` while another backup is being made on this node.',
        response: { 201: BackupSchema },
      },
    },
    async (request, reply) => {
      const file = await backups.create(auditContextOf(request));
      const made = { ...file, signature: 'valid' as const };
      return reply.code(201).send(toBackupJson(made, file.manifest.created_at));
    },
  );

  app.get(
    '/backups',
    {
      config: { access },
      schema: {
        tags,
        summary: 'List the backups in the backup directory, newest first',
        querystring: Type.Object(
          {
            after: Type.Optional(
              Type.String({
                maxLength: 64,
                description: 'The `next_cursor` of the previous page.',
              }),
            ),
            // Each listed backup's manifest is read: pages are smaller than elsewhere.
            limit: Type.Integer({
              minimum: 1,
              maximum: 100,
              default: 50,
              description: '1-100, default 50.',
            }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            backups: Type.Array(BackupSchema),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      // Ids sort by creation time, so "after" (older than) the cursor is a comparison.
      const page = await backups.list({ after, limit });
      return {
        backups: page.map(listingJson),
        next_cursor: nextCursor(page, limit, (backup) => backup.id),
      };
    },
  );

  app.get(
    '/backups/:id',
    {
      config: { access, stepUp: true },
      // The parts inside are gzipped already: compressing the file again wastes CPU.
      compress: false,
      // A HEAD would run this handler and be audited as a download.
      exposeHeadRoute: false,
      schema: {
        tags,
        summary: 'Download a backup file (a tar), for `tessera backup verify` or `restore`',
        params: IdParams,
        response: {
          200: {
            description: 'The backup file, as stored.',
            content: {
              // A stream, sent as it is (no serializer runs on it).
              'application/x-tar': {
                schema: Type.Unsafe<Readable>({ type: 'string', format: 'binary' }),
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const backup = await backups.find(request.params.id);
      // Never through a link, even one put in place since it was found.
      const file = await openRegularFile(backup.path).catch((error: NodeJS.ErrnoException) => {
        // Deleted (pruned) or replaced by a link since it was found.
        if (error.code === 'ENOENT') {
          throw new TesseraError(BackupErrors.backup_not_found, `There is no backup ${backup.id}.`);
        }
        throw error;
      });
      try {
        const { size } = await file.stat();
        await audit.record(auditContextOf(request), [
          {
            tenant_id: 'system',
            action: 'backup.downloaded',
            target: `backup:${backup.id}`,
            outcome: 'success',
            details: { size },
          },
        ]);
        return reply
          .type('application/x-tar')
          .header('content-disposition', `attachment; filename="${backupFileName(backup.id)}"`)
          .header('content-length', size)
          .send(file.createReadStream());
      } catch (error) {
        await file.close();
        throw error;
      }
    },
  );

  app.delete(
    '/backups/:id',
    {
      config: { access, stepUp: true },
      schema: {
        tags,
        summary: 'Delete a backup file',
        params: IdParams,
        response: { 204: Type.Null({ description: 'No content.' }) },
      },
    },
    async (request, reply) => {
      await backups.remove(auditContextOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
