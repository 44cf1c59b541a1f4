export { freePort } from '../../src/throwaway-postgres.js';
