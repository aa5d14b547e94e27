import { DomainError } from "../errors.server";

/**
 * Loaders turn domain errors into the HTTP responses the route's error boundary explains:
 * "User x was not found." as a 404 rather than a generic 500.
 */
export async function orHttpError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError) {
      throw new Response(error.message, { status: error.status, statusText: error.code });
    }
    throw error;
  }
}
