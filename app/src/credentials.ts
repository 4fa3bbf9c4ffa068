// What makes a secret guessable, checked once at start-up (config.ts): API keys and the admin
// token must not be of little entropy, and the admin token (which switches faults on for
// everyone) must be long and not a placeholder copied from an example.

/** API keys shorter than this can be guessed; `make configure` generates 32 characters. */
export const MIN_API_KEY_LENGTH = 16;
/** The admin token: 32 characters, what `make configure` and `make native` generate. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;
/**
 * Entropy a secret must carry at least, estimated from its own characters (length × the
 * Shannon entropy of their frequencies): 16 random base64url characters give about 60 bits;
 * `aaaaaaaaaaaaaaaa` gives 0, `abababababababab` 16, `abcdabcdabcdabcd` 32.
 */
export const MIN_SECRET_BITS = 48;

// Words of the placeholders people copy from examples ("change-me-please", "my-admin-token",
// "secret123…"): a random token holds one of them by chance with odds under one in a million.
const PLACEHOLDER_WORDS = [
  'changeme',
  'password',
  'passwd',
  'secret',
  'admin',
  'token',
  'example',
  'default',
  'letmein',
  'qwerty',
  'placeholder',
  '123456',
];

export function estimatedBits(secret: string): number {
  const counts = new Map<string, number>();
  for (const char of secret) counts.set(char, (counts.get(char) ?? 0) + 1);
  const length = [...secret].length;
  let bitsPerChar = 0;
  for (const count of counts.values()) {
    const p = count / length;
    bitsPerChar -= p * Math.log2(p);
  }
  return length * bitsPerChar;
}

/** Why `secret` is too easy to guess, or undefined. */
export function secretWeakness(secret: string): string | undefined {
  if (estimatedBits(secret) < MIN_SECRET_BITS) {
    return `has too little entropy (under ${MIN_SECRET_BITS} bits: repeated characters or a short pattern)`;
  }
  return undefined;
}

/** Why `token` will not do as ADMIN_TOKEN, or undefined. */
export function adminTokenWeakness(token: string): string | undefined {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
    return `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (make configure generates one; or unset it to disable /admin)`;
  }
  const letters = token.toLowerCase().replace(/[^a-z0-9]/g, '');
  const word = PLACEHOLDER_WORDS.find((placeholder) => letters.includes(placeholder));
  if (word !== undefined) {
    return `looks like a placeholder (it contains "${word}"): generate one, e.g. openssl rand -hex 24`;
  }
  return secretWeakness(token);
}
