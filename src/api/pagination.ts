import { Type } from '@sinclair/typebox';
import { HeraldError } from '../domain/errors.js';

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.String({ description: 'Opaque; from `meta.next_cursor` of the previous page.' })),
};

/** Cursors are opaque to clients: base64url of the last id seen (lists run newest first). */
export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const id = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new HeraldError(400, [{ code: 'invalid', detail: 'Invalid cursor.', parameter: 'cursor' }]);
  }
  return id;
}

export function page<R extends { id: number }>(rows: R[], limit: number, render: (row: R) => unknown) {
  const hasMore = rows.length > limit;
  const shown = hasMore ? rows.slice(0, limit) : rows;
  const last = shown[shown.length - 1];
  return {
    data: shown.map(render),
    meta: { next_cursor: hasMore && last ? Buffer.from(String(last.id)).toString('base64url') : null },
  };
}

export function parseTime(value: string | undefined, parameter: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new HeraldError(400, [
      { code: 'invalid', detail: 'Datetime has wrong format. Use ISO 8601, e.g. 2026-01-15T10:30:00Z.', parameter },
    ]);
  }
  return ms;
}
