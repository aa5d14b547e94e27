import { createContext, useContext } from "react";

/**
 * The Content-Security-Policy nonce of the response being rendered (set in app/entry.server.tsx).
 * In the browser it is empty: browsers hide a nonce from the page once it has been checked.
 */
const NonceContext = createContext<string | undefined>(undefined);

export const NonceProvider = NonceContext.Provider;

export function useNonce(): string | undefined {
  return useContext(NonceContext);
}
