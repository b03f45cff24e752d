// reins/redis: the Redis store, its own entry point so that only its users load ioredis (an optional peer dependency).
export { RedisStore, type RedisStoreOptions } from '../redis-store.js';
