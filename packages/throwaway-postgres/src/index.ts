export { freePort } from './free-port.js';
export {
  createThrowawayPostgres,
  type ThrowawayPostgres,
  type ThrowawayPostgresOptions,
} from './throwaway-postgres.js';
