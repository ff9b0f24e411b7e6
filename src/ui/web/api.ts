/** Reads the server's JSON API; a FlowError answer becomes an ApiError with its code, message and fix. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string; fix?: string } };
  if (!res.ok) throw new ApiError(res.status, body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? res.statusText, body.error?.fix);
  return body as T;
}

/** Path segments are always encoded: a name from a record never changes the URL's shape. */
export const seg = (s: string) => encodeURIComponent(s);

export const runPath = (run: string) => `/runs/${seg(run)}`;
export const stepPath = (run: string, step: string) => `${runPath(run)}/steps/${seg(step)}`;
export const taskPath = (run: string, step: string, task: string) => `${stepPath(run, step)}/tasks/${seg(task)}`;
