/** One problem, as Herald's v3 API reports it (JSON:API-like errors with a JSON pointer). */
export interface ApiProblem {
  status?: string;
  code?: string;
  detail: string;
  source?: { pointer?: string; parameter?: string; header?: string };
}

function problemsOf(error: unknown): ApiProblem[] {
  const errors = (error as { errors?: unknown } | undefined)?.errors;
  if (Array.isArray(errors) && errors.length > 0) return errors as ApiProblem[];
  return [{ detail: 'The request failed.' }];
}

/** Every problem's text, for a message at the top of a form or next to a button. */
export function errorText(error: unknown): string {
  return problemsOf(error)
    .map((p) => p.detail)
    .join(' ');
}

/**
 * The problems split by where they belong: `fields` by JSON pointer (e.g.
 * /data/configuration/url), the rest in `general`. A form shows each at its field.
 */
export function fieldErrors(error: unknown): { fields: Record<string, string>; general: string[] } {
  const fields: Record<string, string> = {};
  const general: string[] = [];
  for (const p of problemsOf(error)) {
    const pointer = p.source?.pointer;
    if (pointer) fields[pointer] = fields[pointer] ? `${fields[pointer]} ${p.detail}` : p.detail;
    else general.push(p.detail);
  }
  return { fields, general };
}
