// The credentials of the test configuration, in a module that imports nothing: the attack
// suite's probe loads it on a worker thread of its own, without the service's modules.

// 32 characters or more, random-looking: the service refuses short or placeholder tokens.
export const ADMIN_TOKEN = 'Zq7vK2pX9mR4tW8nB3yH6jL1fD5sG0cAe';
// At least MIN_API_KEY_LENGTH (16) characters, like every key the service accepts.
export const FREE_KEY = 'test-free-key-0123456789';
export const PRO_KEY = 'test-pro-key-0123456789';
