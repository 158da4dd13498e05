//! `select!`: waiting for the first of several channel operations.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parenthesized, Expr, Ident, Pat, Token};

/// The parsed arms of one `select!`.
struct Select {
    arms: Vec<Arm>,
    default: Option<Expr>,
}

enum Op {
    Recv(Expr),
    Send(Expr, Expr),
}

struct Arm {
    op: Op,
    pat: Pat,
    body: Expr,
    span: Span,
}

/// Expands `select! { recv(rx) -> msg => ..., send(tx, v) -> res => ..., default => ... }`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match syn::parse2::<Select>(input) {
        Ok(select) => generate(select),
        Err(e) => e.to_compile_error(),
    }
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Select> {
        let mut arms = Vec::new();
        let mut default = None;
        while !input.is_empty() {
            let kind: Ident = input.parse()?;
            let span = kind.span();
            match kind.to_string().as_str() {
                "default" => {
                    if default.is_some() {
                        return Err(syn::Error::new(span, "`select!` takes at most one `default` arm"));
                    }
                    input.parse::<Token![=>]>()?;
                    default = Some(body(input)?);
                }
                "recv" | "send" => {
                    let content;
                    parenthesized!(content in input);
                    let args = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
                    let mut args = args.into_iter();
                    let op = match (kind.to_string().as_str(), args.next(), args.next(), args.next()) {
                        ("recv", Some(rx), None, None) => Op::Recv(rx),
                        ("send", Some(tx), Some(value), None) => Op::Send(tx, value),
                        ("recv", ..) => {
                            return Err(syn::Error::new(span, "expected `recv(receiver) -> pattern => body`"))
                        }
                        _ => {
                            return Err(syn::Error::new(
                                span,
                                "expected `send(sender, value) -> pattern => body`",
                            ))
                        }
                    };
                    input.parse::<Token![->]>()?;
                    let pat = Pat::parse_single(input)?;
                    input.parse::<Token![=>]>()?;
                    arms.push(Arm {
                        op,
                        pat,
                        body: body(input)?,
                        span,
                    });
                }
                other => {
                    return Err(syn::Error::new(
                        span,
                        format!("unknown `select!` arm `{other}`: expected `recv(..)`, `send(..)` or `default`"),
                    ))
                }
            }
        }
        if arms.is_empty() && default.is_none() {
            return Err(syn::Error::new(
                Span::call_site(),
                "`select!` needs at least one `recv`, `send` or `default` arm",
            ));
        }
        Ok(Select { arms, default })
    }
}

/// An arm's body: an expression, followed by a comma unless it is a block
/// or the last arm, as in `match`.
fn body(input: ParseStream<'_>) -> syn::Result<Expr> {
    let body: Expr = input.parse()?;
    let is_block = matches!(body, Expr::Block(_));
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else if !is_block && !input.is_empty() {
        return Err(input.error("expected `,` after a `select!` arm"));
    }
    Ok(body)
}

fn generate(select: Select) -> TokenStream {
    let private = quote!(::knot::chan::__private);
    let mut setup = Vec::new();
    let mut arm_refs = Vec::new();
    let mut branches = Vec::new();
    for (i, arm) in select.arms.iter().enumerate() {
        let source = format_ident!("__knot_source_{}", i);
        let handle = format_ident!("__knot_arm_{}", i);
        let span = arm.span;
        match &arm.op {
            Op::Recv(rx) => setup.push(quote_spanned! {span=>
                let #source = &(#rx);
                let mut #handle = #private::RecvArm::new(#source);
            }),
            Op::Send(tx, value) => setup.push(quote_spanned! {span=>
                let #source = &(#tx);
                let mut #handle = #private::SendArm::new(#source, #value);
            }),
        }
        arm_refs.push(quote!(&mut #handle as &mut dyn #private::Arm));
        let pat = &arm.pat;
        let body = &arm.body;
        branches.push(quote! {
            ::core::option::Option::Some(#i) => {
                #[allow(unused_variables)]
                let #pat = #handle.into_result();
                #body
            }
        });
    }
    let has_default = select.default.is_some();
    let default = match select.default {
        Some(body) => quote!(_ => { #body }),
        None => quote!(_ => ::core::unreachable!("knot: select! returned no arm")),
    };
    quote! {{
        #(#setup)*
        let __knot_won = #private::select(
            &mut [#(#arm_refs),*],
            #has_default,
            ::knot::__private::Op::Select,
            ::core::panic::Location::caller(),
        );
        match __knot_won {
            #(#branches)*
            #default
        }
    }}
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn text(input: TokenStream) -> String {
        expand(input).to_string()
    }

    #[test]
    fn arms_become_typed_handles() {
        let out = text(quote! {
            recv(rx) -> msg => println!("{:?}", msg),
            send(tx, 5) -> res => { res.unwrap() }
            default => (),
        });
        assert!(out.contains("RecvArm :: new"), "{out}");
        assert!(out.contains("SendArm :: new"), "{out}");
        assert!(out.contains("true"), "{out}");
    }

    #[test]
    fn mistakes_are_compile_errors() {
        for (input, message) in [
            (quote!(), "at least one"),
            (quote!(recv(a, b) -> x => ()), "recv(receiver)"),
            (quote!(send(a) -> x => ()), "send(sender, value)"),
            (quote!(wait(a) -> x => ()), "unknown `select!` arm"),
            (quote!(default => (), default => ()), "at most one"),
            (quote!(recv(a) -> x => 1 recv(b) -> y => 2), "expected `,`"),
        ] {
            let out = text(input);
            assert!(out.contains("compile_error"), "{out}");
            assert!(out.contains(message), "{message}: {out}");
        }
    }
}
