/** Error codes of the reference API's enum, the only ones Herald answers with. */
export type ErrorCode =
  | 'unknown_field'
  | 'invalid'
  | 'forbidden'
  | 'invalid_choice'
  | 'min_value'
  | 'null'
  | 'not_found'
  | 'required'
  | 'not_a_list'
  | 'non_field_errors'
  | 'authentication_failed'
  | 'validation_error';

/**
 * One problem with a request. `pointer` is a JSON pointer into the request body ('' is the
 * body itself); each API dialect renders it in its own format.
 */
export interface FieldError {
  code: ErrorCode;
  detail: string;
  pointer?: string;
  parameter?: string;
  header?: string;
}

export class HeraldError extends Error {
  constructor(
    readonly status: number,
    readonly errors: FieldError[],
  ) {
    super(errors.map((e) => e.detail).join(' '));
  }
}

export const notFound = (): HeraldError => new HeraldError(404, [{ code: 'not_found', detail: 'Not found.' }]);

export const invalid = (pointer: string, detail: string, code: ErrorCode = 'invalid'): HeraldError =>
  new HeraldError(400, [{ code, detail, pointer }]);

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
