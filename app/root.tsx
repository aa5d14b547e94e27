// First import: configures zod before any schema module is evaluated (see the module).
import "~/shared/zod-browser";
import type { LinksFunction, MetaFunction } from "@remix-run/node";
import {
  isRouteErrorResponse,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteError,
} from "@remix-run/react";
import { useNonce } from "~/components/nonce";
import stylesHref from "~/styles/app.css";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];
export const meta: MetaFunction = () => [{ title: "creditdesk" }];

export function Layout({ children }: { children: React.ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const message = isRouteErrorResponse(error)
    ? typeof error.data === "string"
      ? error.data
      : error.statusText
    : "Something went wrong on our side. The error has been logged.";
  return (
    <main className="error-page" role="alert">
      <h1>
        {status === 404
          ? "Page not found"
          : status === 403
            ? "Not allowed"
            : "Something went wrong"}
      </h1>
      <p>{message}</p>
      <p>
        <a href="/">Back to the dashboard</a>
      </p>
    </main>
  );
}
