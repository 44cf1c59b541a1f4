import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Compares two strings in time that does not depend on where they differ (digests have equal lengths). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/**
 * True when the request carries the configured basic credentials. Both user and password are compared in
 * constant time, and both always, so the response time tells nothing about which one was wrong.
 */
export function basicAuthorized(header: string | null, user: string, password: string): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const givenUser = colon < 0 ? '' : decoded.slice(0, colon);
  const givenPassword = colon < 0 ? '' : decoded.slice(colon + 1);
  const userOk = safeEqual(givenUser, user);
  const passwordOk = safeEqual(givenPassword, password);
  return colon >= 0 && userOk && passwordOk;
}

/**
 * The token every form posts back. A page on another origin cannot read it (the same-origin policy), so a
 * forged cross-site POST does not have it. Derived from a secret, so nothing is stored per session.
 */
export function csrfToken(secret: string | undefined): string {
  const key = secret ?? randomBytes(32).toString('hex');
  return createHmac('sha256', key).update('walbox-console-csrf').digest('base64url');
}

/**
 * A POST is accepted when it carries the token and the browser does not call it cross-site. Sec-Fetch-Site
 * is sent by current browsers; it is checked as a second line, not relied on (other clients omit it).
 */
export function csrfOk(request: Request, given: string | null, expected: string): boolean {
  if (request.headers.get('sec-fetch-site') === 'cross-site') return false;
  return given !== null && safeEqual(given, expected);
}
