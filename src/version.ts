/** Recorded in every manifest's provenance; bump with package.json. */
export const LIBRARY_VERSION = 'holdfast 0.1.0';
