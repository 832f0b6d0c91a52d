// The mcpay HTTP API: JSON in and out, problem+json errors as ApiError, and one silent re-sign-in
// when a token has expired (401).

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem.detail || problem.title || `request failed (${status})`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter; // seconds, when the answer said when to try again
  }
}

let auth = { token: () => null, renew: async () => false };

// The session module tells the API how to find the token and how to get a fresh one.
export function configureAuth(provider) {
  auth = provider;
}

export async function api(path, { method = "GET", body, headers = {}, signedIn = true, retry = true } = {}) {
  const request = { method, headers: { Accept: "application/json, application/problem+json", ...headers } };
  if (body !== undefined) {
    request.headers["Content-Type"] = "application/json";
    request.body = JSON.stringify(body);
  }
  const token = signedIn ? await auth.token() : null;
  if (token) request.headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, request);
  if (response.status === 401 && signedIn && retry && (await auth.renew())) {
    return api(path, { method, body, headers, signedIn, retry: false });
  }
  return read(response);
}

async function read(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, data ?? {}, retryAfterSeconds(response));
  return data;
}

function retryAfterSeconds(response) {
  const seconds = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

export function currentToken() {
  return auth.token();
}
