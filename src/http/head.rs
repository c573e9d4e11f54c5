//! HEAD on every GET route (RFC 9110 §9.3.2), in one place. actix-web routes a HEAD request only
//! to a route that names HEAD, and `#[get]` does not (actix/actix-web#2702), so this middleware
//! routes a HEAD request as the GET it mirrors: the same token, scope, path and query checks run,
//! and the answer has the GET's status and headers (ETag, Content-Type, Content-Length, Allow…).
//!
//! The body is never written: actix-http's dispatcher knows from the request line it parsed that
//! the request was HEAD, and sends the head of the answer only, with the Content-Length of the
//! body it was given. A streamed body (the CSV exports) is swapped here for an empty stream, so
//! that a HEAD does not read a whole selection from the database only to throw it away; the
//! answer stays framed as the GET's (chunked, no Content-Length).
//!
//! The OpenAPI document lists GET only: HEAD comes with every GET by the RFC. The 405 fallback
//! names HEAD wherever it names GET.

use std::convert::Infallible;

use actix_web::body::{BodySize, BodyStream, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_util::stream::{Empty, empty};

/// What a HEAD answer carries in place of a streamed body.
type NoStream = BodyStream<Empty<Result<Bytes, Infallible>>>;

pub async fn middleware<B: MessageBody + 'static>(
    mut request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B, NoStream>>, actix_web::Error> {
    if request.method() != Method::HEAD {
        return next.call(request).await.map(ServiceResponse::map_into_left_body);
    }
    request.head_mut().method = Method::GET;
    let response = next.call(request).await?;
    Ok(response.map_body(|_, body| match body.size() {
        BodySize::Stream => EitherBody::right(BodyStream::new(empty())),
        BodySize::None | BodySize::Sized(_) => EitherBody::left(body),
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use actix_web::body::{BodySize, MessageBody, to_bytes};
    use actix_web::http::{Method, StatusCode};
    use actix_web::middleware::from_fn;
    use actix_web::test::{TestRequest, call_service, init_service};
    use actix_web::web::{self, Bytes};
    use actix_web::{App, HttpResponse};

    #[actix_web::test]
    async fn head_runs_the_get_route_without_computing_a_streamed_body() {
        let polled = Arc::new(AtomicBool::new(false));
        let flag = polled.clone();
        let app = init_service(
            App::new()
                .wrap(from_fn(super::middleware))
                .route(
                    "/sized",
                    web::get().to(|| async { HttpResponse::Ok().insert_header(("etag", "\"3\"")).body("hello") }),
                )
                .route(
                    "/streamed",
                    web::get().to(move || {
                        let flag = flag.clone();
                        async move {
                            let chunks = futures_util::stream::poll_fn(move |_| {
                                flag.store(true, Ordering::SeqCst);
                                std::task::Poll::Ready(None::<Result<Bytes, std::convert::Infallible>>)
                            });
                            HttpResponse::Ok().content_type("text/csv").streaming(chunks)
                        }
                    }),
                ),
        )
        .await;

        let sized = call_service(&app, TestRequest::default().method(Method::HEAD).uri("/sized").to_request()).await;
        assert_eq!(sized.status(), StatusCode::OK);
        assert_eq!(sized.headers().get("etag").unwrap(), "\"3\"");
        // Left for the dispatcher to drop, so that it announces the GET's Content-Length.
        assert_eq!(sized.response().body().size(), BodySize::Sized(5));

        let streamed =
            call_service(&app, TestRequest::default().method(Method::HEAD).uri("/streamed").to_request()).await;
        assert_eq!(streamed.status(), StatusCode::OK);
        assert_eq!(streamed.headers().get("content-type").unwrap(), "text/csv");
        assert_eq!(streamed.response().body().size(), BodySize::Stream);
        assert!(to_bytes(streamed.into_body()).await.unwrap().is_empty());
        assert!(!polled.load(Ordering::SeqCst), "the GET's stream was read for a HEAD");

        let post = call_service(&app, TestRequest::post().uri("/sized").to_request()).await;
        assert_eq!(post.status(), StatusCode::NOT_FOUND, "only HEAD is taken for GET");
    }
}
