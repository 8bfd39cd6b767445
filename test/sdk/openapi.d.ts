// Generated from openapi.yaml by openapi-typescript (npm run sdk:types). Do not edit.
export interface paths {
    "/.well-known/oauth-protected-resource": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** How to get a token for this API (RFC 9728 protected-resource metadata) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Protected-resource metadata */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: uri */
                            resource: string;
                        } & {
                            [key: string]: unknown;
                        };
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Get tokens: password, refresh_token
         * @description RFC 6749 §4.3, §4.4 and §6. Answers carry `Cache-Control: no-store`. Refresh tokens are rotated on every use; presenting a rotated one again revokes the whole session.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/x-www-form-urlencoded": {
                        /** @enum {string} */
                        grant_type: "password" | "refresh_token";
                        username?: string;
                        password?: string;
                        refresh_token?: string;
                        /** @description Space-separated scopes */
                        scope?: string;
                        client_id?: string;
                        client_secret?: string;
                    };
                };
            };
            responses: {
                /** @description Tokens (RFC 6749 §5.1) */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TokenResponse"];
                    };
                };
                /** @description invalid_request, invalid_grant, invalid_scope, unauthorized_client or unsupported_grant_type (RFC 6749 §5.2); invalid_dpop_proof, or use_dpop_nonce with a DPoP-Nonce header (RFC 9449 §5, §8) */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["OAuthError"];
                    };
                };
                /** @description invalid_client */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["OAuthError"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke an access or refresh token (RFC 7009)
         * @description Answers 200 for every well-formed request, known token or not. Revoking a refresh token ends its session, including the access tokens issued from it. A token is revoked only for the client it was issued to, and a session bound to a DPoP key only with a `DPoP` proof of that key.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/x-www-form-urlencoded": {
                        token: string;
                        token_type_hint?: string;
                        client_id?: string;
                        client_secret?: string;
                    };
                };
            };
            responses: {
                /** @description Revoked, or nothing to revoke */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description invalid_request; unauthorized_client: the token was issued to another client, or is bound to a DPoP key the request has no proof of, and nothing was revoked (RFC 7009 §2.1); invalid_dpop_proof, or use_dpop_nonce with a DPoP-Nonce header (RFC 9449) */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["OAuthError"];
                    };
                };
                /** @description invalid_client */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["OAuthError"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/oauth-authorization-server": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Authorization-server metadata (RFC 8414) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Authorization-server metadata */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: uri */
                            issuer: string;
                            /** Format: uri */
                            token_endpoint: string;
                        } & {
                            [key: string]: unknown;
                        };
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness and store readiness */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Up, and the database answers */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            status: "ok" | "unavailable";
                            /** @enum {string} */
                            database: "ok" | "unavailable";
                            load: {
                                /** @description Event-loop delay (@fastify/under-pressure); the server sheds requests with 503 above its limit */
                                event_loop_delay_ms: number;
                                /** Format: int64 */
                                heap_used_bytes: number;
                                /** Format: int32 */
                                password_checks_running: number;
                                /** Format: int32 */
                                password_checks_queued: number;
                            };
                        };
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description The database does not answer (the report), or the server is overloaded and sheds requests (a problem) */
                503: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Seconds to wait before asking again */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            status: "ok" | "unavailable";
                            /** @enum {string} */
                            database: "ok" | "unavailable";
                            load: {
                                /** @description Event-loop delay (@fastify/under-pressure); the server sheds requests with 503 above its limit */
                                event_loop_delay_ms: number;
                                /** Format: int64 */
                                heap_used_bytes: number;
                                /** Format: int32 */
                                password_checks_running: number;
                                /** Format: int32 */
                                password_checks_queued: number;
                            };
                        };
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["User"];
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description The credential belongs to a service, not a user */
                404: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/me/password": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Change the caller's password; ends every session of the user */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        current_password: string;
                        new_password: string;
                    };
                };
            };
            responses: {
                /** @description Changed; every refresh token and access token of the user is revoked */
                204: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Invalid input, or the current password is wrong */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List users */
        get: {
            parameters: {
                query: {
                    limit: number;
                    offset: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: components["schemas"]["User"][];
                            /** Format: int32 */
                            limit: number;
                            /** Format: int32 */
                            offset: number;
                        };
                    };
                };
                /** @description Invalid paging */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Valid credentials without the required scope */
                403: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description error="insufficient_scope" with the required scope (RFC 6750 §3.1) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        /** Create a user */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Letters, digits, `_`, `.` and `-`, 3 to 32 */
                        username: string;
                        /** Format: email */
                        email: string;
                        password: string;
                        /** @enum {string} */
                        role: "user" | "moderator" | "admin";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["User"];
                    };
                };
                /** @description Invalid input, naming the fields */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Valid credentials without the required scope */
                403: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description error="insufficient_scope" with the required scope (RFC 6750 §3.1) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description The username or email is taken */
                409: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One user */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description Identifier (UUID) */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["User"];
                    };
                };
                /** @description The id is not a UUID */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Valid credentials without the required scope */
                403: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description error="insufficient_scope" with the required scope (RFC 6750 §3.1) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description No such user */
                404: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Delete a user, with their sessions and API keys */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description Identifier (UUID) */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted */
                204: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The id is not a UUID */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Valid credentials without the required scope */
                403: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description error="insufficient_scope" with the required scope (RFC 6750 §3.1) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description No such user */
                404: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Administrators cannot delete themselves */
                409: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/{id}/lockout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Lift the lock that failed logins put on an account */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description Identifier (UUID) */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The account may log in again */
                204: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The id is not a UUID */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Valid credentials without the required scope */
                403: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description error="insufficient_scope" with the required scope (RFC 6750 §3.1) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description No such user */
                404: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's API keys (never the keys themselves) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: components["schemas"]["ApiKey"][];
                        };
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Create an API key for the caller; the key is shown once
         * @description Needs a login of the last 5 minutes (RFC 9470 `max_age`; refreshing the token does not count): an older one is refused 401 with `error="insufficient_user_authentication"` and `max_age` in `WWW-Authenticate`. Log in again.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description A name to recognise the key by; trimmed */
                        name: string;
                        /** @description At most the scopes of the token used to create the key */
                        scopes: ("users:read" | "users:write" | "admin")[];
                        /**
                         * Format: date-time
                         * @description When the key stops working; none for a key that does not expire
                         */
                        expires_at?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /**
                             * Format: uuid
                             * @description Identifier (UUID)
                             */
                            id: string;
                            /** @description The public part of the key, shown in listings */
                            prefix: string;
                            name: string;
                            scopes: ("users:read" | "users:write" | "admin")[];
                            expires_at: string | null;
                            /** Format: date-time */
                            created_at: string;
                            /** @description The key itself, shown this once and never again */
                            key: string;
                        };
                    };
                };
                /** @description Invalid input, naming the fields */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api-keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke one of the caller’s API keys */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description Identifier (UUID) */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Revoked */
                204: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The id is not a UUID */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Missing or invalid credentials */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description One challenge per accepted scheme (RFC 9110 §11.6.1, RFC 6750 §3) */
                        "WWW-Authenticate"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description No such key among the caller’s */
                404: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log in with JSON: the token pair of the password grant
         * @description The password grant of the token endpoint (the same lockout) for clients that send JSON; refresh at the token endpoint. Answers carry `Cache-Control: no-store`.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        username: string;
                        password: string;
                        /** @description Space-separated scopes; default: all of the role */
                        scope?: string;
                    };
                };
            };
            responses: {
                /** @description Tokens (RFC 6749 §5.1) */
                200: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TokenPair"];
                    };
                };
                /** @description Invalid input, a scope this API does not have, or a DPoP proof refused (`error`: invalid_dpop_proof, use_dpop_nonce) */
                400: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Invalid username or password */
                401: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many requests */
                429: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        /** @description Requests allowed in the window */
                        "X-RateLimit-Limit"?: number;
                        /** @description Requests left in the window */
                        "X-RateLimit-Remaining"?: number;
                        /** @description Seconds until the window resets */
                        "X-RateLimit-Reset"?: number;
                        /** @description Seconds until the limit resets */
                        "Retry-After"?: number;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Logins cannot be checked right now: see Retry-After */
                503: {
                    headers: {
                        /** @description Sent when the request's Origin is one of these, exactly (CORS) */
                        "Access-Control-Allow-Origin"?: "https://app.example.com";
                        /** @description Sent with Access-Control-Allow-Origin */
                        "Access-Control-Allow-Credentials"?: "true";
                        /** @description Answers vary by Origin */
                        Vary?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description Problem details (RFC 9457) */
        Problem: {
            /**
             * Format: uri-reference
             * @description A URI reference that identifies the problem type
             */
            type: string;
            /** @description Short summary of the problem type */
            title: string;
            /** Format: int32 */
            status: number;
            /** @description Explanation of this occurrence */
            detail: string;
            /** Format: uri-reference */
            instance?: string;
        } & {
            [key: string]: unknown;
        };
        TokenResponse: {
            /** @description A JWT (RFC 9068) */
            access_token: string;
            /** @enum {string} */
            token_type: "Bearer" | "DPoP";
            /**
             * Format: int32
             * @description Seconds
             */
            expires_in: number;
            /** @description Rotated on every use; absent for client_credentials */
            refresh_token?: string;
            /** @description The scopes granted, space-separated */
            scope: string;
        };
        /** @description RFC 6749 §5.2 error */
        OAuthError: {
            /** @enum {string} */
            error: "invalid_request" | "invalid_client" | "invalid_grant" | "unauthorized_client" | "unsupported_grant_type" | "invalid_scope" | "unsupported_token_type" | "invalid_dpop_proof" | "use_dpop_nonce";
            error_description?: string;
        };
        User: {
            /**
             * Format: uuid
             * @description Identifier (UUID)
             */
            id: string;
            /** @description Letters, digits, `_`, `.` and `-`, 3 to 32 */
            username: string;
            /** Format: email */
            email: string;
            /** @enum {string} */
            role: "user" | "moderator" | "admin";
            active: boolean;
            /** Format: date-time */
            created_at: string;
        };
        ApiKey: {
            /**
             * Format: uuid
             * @description Identifier (UUID)
             */
            id: string;
            /** @description The public part of the key, shown in listings */
            prefix: string;
            name: string;
            scopes: ("users:read" | "users:write" | "admin")[];
            expires_at: string | null;
            /** Format: date-time */
            created_at: string;
            last_used_at: string | null;
            /** Format: int64 */
            request_count: number;
        };
        TokenPair: {
            /** @description A JWT (RFC 9068) */
            access_token: string;
            /** @description DPoP when the request carried a DPoP proof: the tokens are bound to its key */
            token_type: "Bearer" | "DPoP";
            /**
             * Format: int32
             * @description Seconds
             */
            expires_in: number;
            /** @description For the refresh_token grant; rotated on every use */
            refresh_token: string;
            /** @description The scopes granted, space-separated */
            scope: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
