// The public REST API, same origin, with the tab's credential (sessionStorage: it ends
// with the tab and is never sent to another origin). Errors keep google.rpc.Status's
// BadRequest field violations so that forms can show them at their fields.
const TOKEN_KEY = "sundial.token";
const WORKSPACE_KEY = "sundial.workspace";

export interface Session {
  token: string;
  workspace: string;
}

export function currentSession(): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const workspace = sessionStorage.getItem(WORKSPACE_KEY);
  return token && workspace ? { token, workspace } : null;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(TOKEN_KEY, session.token);
  sessionStorage.setItem(WORKSPACE_KEY, session.workspace);
}

export function endSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(WORKSPACE_KEY);
}

export interface FieldViolation {
  field: string;
  description: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly violations: FieldViolation[],
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === "" || value === false) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(name, String(item));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** A path under the signed-in workspace: `ws("/schedules")`. */
export function ws(path: string, session: Session | null = currentSession()): string {
  return `/v1/workspaces/${encodeURIComponent(session?.workspace ?? "")}${path}`;
}

export function segment(value: string): string {
  return encodeURIComponent(value);
}

let onUnauthenticated: () => void = () => undefined;
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

export async function call<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; session?: Session | null } = {},
): Promise<T> {
  const session = options.session === undefined ? currentSession() : options.session;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path + queryString(options.query ?? {}), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "omit",
    });
  } catch {
    throw new ApiError("The server cannot be reached.", 0, []);
  }
  const text = await response.text();
  const payload: unknown = text ? JSON.parse(text) : {};
  if (response.ok) return payload as T;
  const status = payload as { message?: string; details?: { "@type"?: string; fieldViolations?: FieldViolation[] }[] };
  const violations = (status.details ?? [])
    .filter((detail) => detail["@type"]?.endsWith("google.rpc.BadRequest"))
    .flatMap((detail) => detail.fieldViolations ?? []);
  if (response.status === 401 && options.session === undefined) onUnauthenticated();
  throw new ApiError(status.message || `${response.status} ${response.statusText}`, response.status, violations);
}

/** Every page of a list, for the small lists (agents, webhooks) a select or a page needs. */
export async function listAll<T>(path: string, field: string, query: Query = {}, limit = 1000): Promise<T[]> {
  const items: T[] = [];
  let pageToken = "";
  do {
    const page = await call<Record<string, unknown>>("GET", path, { query: { ...query, pageSize: 1000, pageToken } });
    items.push(...((page[field] as T[] | undefined) ?? []));
    pageToken = (page.nextPageToken as string | undefined) ?? "";
  } while (pageToken && items.length < limit);
  return items;
}
