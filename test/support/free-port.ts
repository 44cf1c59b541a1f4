export { freePort } from '../../packages/throwaway-postgres/src/index.js';
