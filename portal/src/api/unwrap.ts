import { errorText } from './errors';

/** The `data` of a successful answer, or an Error carrying the API's own words. */
export function unwrap<D>(result: { data?: { data: D }; error?: unknown }): D {
  if (result.data === undefined) throw new Error(errorText(result.error));
  return result.data.data;
}
