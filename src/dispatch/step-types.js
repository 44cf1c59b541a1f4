export {};
//# sourceMappingURL=step-types.js.map