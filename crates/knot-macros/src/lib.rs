//! Procedural macros for knot.
//!
//! This crate provides the `#[test]` attribute, re-exported by the `knot`
//! crate and used as `#[knot::test]`. It turns an ordinary test function into
//! a standard `#[test]` whose body runs under knot's model checker, once per
//! explored schedule:
//!
//! ```ignore
//! #[knot::test(iterations = 500, strategy = "pct:3")]
//! fn lock_order() {
//!     // Spawn tasks, take locks, send on channels: the checker explores
//!     // their interleavings and reports the first failing one.
//! }
//! ```
//!
//! expands to
//!
//! ```ignore
//! #[test]
//! fn lock_order() {
//!     __knot_test_lock_order()
//! }
//!
//! #[doc(hidden)]
//! fn __knot_test_lock_order() {
//!     ::knot::Checker::new()
//!         .iterations(500)
//!         .strategy(/* "pct:3" parsed into a `::knot::Strategy` */)
//!         .check(move || {
//!             // ...
//!         });
//! }
//!
//! ::knot::__private::inventory::submit! {
//!     ::knot::harness::TestCase::new(
//!         ::core::concat!(::core::module_path!(), "::", ::core::stringify!(lock_order)),
//!         __knot_test_lock_order as fn(),
//!     )
//! }
//! ```
//!
//! The registration lets a test target built with `harness = false` run the
//! test through `knot::harness` (`knot::test_main!()`), which checks for
//! leaked live tasks once the suite is over. The body has a function of its
//! own because such a target is compiled without `--test`, where `#[test]`
//! removes the function it is on.
//!
//! Depend on `knot` rather than on this crate directly: the generated code
//! names `::knot` paths.

mod select;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::{
    Attribute, Expr, ExprLit, ItemFn, Lit, LitInt, LitStr, Meta, MetaNameValue, ReturnType, Type,
};

/// Runs a test function under knot's model checker.
///
/// Used as `#[knot::test]` (through the `knot` crate, which re-exports it).
/// The annotated function becomes a standard `#[test]`; its body is moved
/// into a closure handed to `::knot::Checker::check`, which runs it once per
/// explored schedule and fails the test when one of them fails.
///
/// The test is also registered with `knot::harness` under its libtest name
/// (its module path without the crate name, then its own name), with its
/// `#[ignore]` and `#[should_panic]` settings, so that a `harness = false`
/// target whose `main` is `knot::test_main!()` runs it too, and fails the
/// suite if live tasks are still alive when the tests are over.
///
/// ```ignore
/// #[knot::test]
/// fn abba() {
///     // spawn tasks that take two locks in opposite orders...
/// }
///
/// #[knot::test(iterations = 500, seed = 7, strategy = "pct:3", max_steps = 10_000)]
/// fn tuned() {
///     // ...
/// }
/// ```
///
/// # Arguments
///
/// All are optional, may come in any order, and may each appear once. Those
/// left out keep the checker's defaults.
///
/// - `iterations = N`: how many schedules to explore; an integer literal
///   greater than zero.
/// - `seed = N`: the seed for randomised strategies; an integer literal.
/// - `max_steps = N`: the step budget of one schedule; an integer literal
///   greater than zero.
/// - `strategy = "..."`: the exploration strategy, checked at compile time:
///   `"random"`, `"pct"`, `"pct:N"` (N > 0), `"dfs"` or `"dfs:N"`
///   (N >= 0). Any other expression, such as
///   `strategy = my_strategy()`, is passed unchanged to
///   `Checker::strategy`.
///
/// # Requirements on the function
///
/// It must take no parameters, return `()`, and be neither `async`,
/// `const`, `unsafe`, `extern` nor generic. Its visibility, name and other
/// attributes (`#[should_panic]`, `#[ignore]`, docs) are kept; lint levels
/// (`#[allow]`, `#[expect]`, ...) apply to the body.
/// `#[test]` itself is added, so there is no need to write it; a `#[test]`
/// written below `#[knot::test]` is replaced, not duplicated (one written
/// above it expands first, out of this attribute's sight, and would register
/// the test twice). A `#[cfg(...)]` on the function applies to its
/// registration too.
#[proc_macro_attribute]
pub fn test(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    expand(args.into(), item.into()).into()
}

/// Waits for the first of several channel operations, like Go's `select`.
///
/// Used as `knot::select!` (through the `knot` crate, which re-exports it).
/// Each arm is `recv(receiver) -> pattern => body`,
/// `send(sender, value) -> pattern => body` or `default => body`. A `recv`
/// arm's pattern binds `Result<T, RecvError>`, a `send` arm's binds
/// `Result<(), SendError<T>>`. Without `default` the select waits until an
/// arm can run; with it, `default` runs when none can run at once. When
/// several arms are ready one is picked at random live, and the checker
/// explores every pick. A timeout is a `recv` arm on `knot::time::after`.
///
/// ```ignore
/// knot::select! {
///     recv(jobs) -> job => handle(job?),
///     recv(ctx.done()) -> _ => return Err(Cancelled),
///     recv(knot::time::after(Duration::from_secs(1))) -> _ => return Err(TimedOut),
/// }
/// ```
#[proc_macro]
pub fn select(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    select::expand(input.into()).into()
}

const ACCEPTED_ARGS: &str = "`iterations = N`, `seed = N`, `strategy = \"...\"` or `max_steps = N`";

const ACCEPTED_STRATEGIES: &str = "`random`, `pct`, `pct:N` (N > 0), `dfs` or `dfs:N` (N >= 0)";

fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed_args = parse_args(args);
    let func = syn::parse2::<ItemFn>(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("#[knot::test] can only be applied to a function: {e}"),
        )
    });
    // Report argument and signature problems together so one compile shows
    // everything that needs fixing.
    let func = func.and_then(|f| check_signature(&f).map(|()| f));
    match (parsed_args, func) {
        (Ok(args), Ok(func)) => generate(&args, func),
        (Err(mut a), Err(f)) => {
            a.combine(f);
            a.to_compile_error()
        }
        (Err(e), _) | (_, Err(e)) => e.to_compile_error(),
    }
}

enum StrategyArg {
    Named(LitStr),
    Expr(Expr),
}

#[derive(Default)]
struct Args {
    iterations: Option<LitInt>,
    seed: Option<LitInt>,
    strategy: Option<StrategyArg>,
    max_steps: Option<LitInt>,
}

fn parse_args(args: TokenStream) -> syn::Result<Args> {
    let mut out = Args::default();
    let parser = syn::meta::parser(|meta| {
        let Some(key) = meta.path.get_ident() else {
            return Err(meta.error(format!(
                "unknown #[knot::test] argument; expected {ACCEPTED_ARGS}"
            )));
        };
        let name = key.to_string();
        let duplicate = match name.as_str() {
            "iterations" => out.iterations.is_some(),
            "seed" => out.seed.is_some(),
            "strategy" => out.strategy.is_some(),
            "max_steps" => out.max_steps.is_some(),
            _ => {
                return Err(meta.error(format!(
                    "unknown #[knot::test] argument `{name}`; expected {ACCEPTED_ARGS}"
                )))
            }
        };
        if duplicate {
            return Err(meta.error(format!(
                "duplicate #[knot::test] argument `{name}`; each argument may be given once"
            )));
        }
        let value: Expr = meta.value()?.parse()?;
        match name.as_str() {
            "iterations" => out.iterations = Some(int_arg(&name, &value, true)?),
            "seed" => out.seed = Some(int_arg(&name, &value, false)?),
            "max_steps" => out.max_steps = Some(int_arg(&name, &value, true)?),
            _ => out.strategy = Some(strategy_arg(value)?),
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(out)
}

fn int_arg(name: &str, value: &Expr, positive: bool) -> syn::Result<LitInt> {
    let expected = if positive {
        format!("`{name}` expects an integer literal greater than zero, e.g. `{name} = 100`")
    } else {
        format!("`{name}` expects a non-negative integer literal, e.g. `{name} = 42`")
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = value
    else {
        return Err(syn::Error::new_spanned(value, expected));
    };
    let n: u64 = lit.base10_parse().map_err(|_| {
        syn::Error::new_spanned(lit, format!("{expected}, no larger than {}", u64::MAX))
    })?;
    if positive && n == 0 {
        return Err(syn::Error::new_spanned(
            lit,
            format!("`{name}` cannot be zero: it expects an integer literal greater than zero, e.g. `{name} = 100`"),
        ));
    }
    Ok(lit.clone())
}

fn strategy_arg(value: Expr) -> syn::Result<StrategyArg> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => {
            if is_known_strategy(&lit.value()) {
                Ok(StrategyArg::Named(lit))
            } else {
                Err(syn::Error::new_spanned(
                    &lit,
                    format!(
                        "unknown strategy `{}`; expected {ACCEPTED_STRATEGIES}, \
                         or an expression of type `knot::Strategy`",
                        lit.value()
                    ),
                ))
            }
        }
        // A non-string literal can never be a `Strategy`; saying so here
        // beats a type error inside generated code.
        Expr::Lit(lit) => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`strategy` expects a string literal ({ACCEPTED_STRATEGIES}) \
                 or an expression of type `knot::Strategy`"
            ),
        )),
        other => Ok(StrategyArg::Expr(other)),
    }
}

fn is_known_strategy(s: &str) -> bool {
    // Only ASCII digits: `u64::from_str` would also take a leading `+`,
    // which the runtime parser need not accept.
    fn number(n: &str) -> Option<u64> {
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            n.parse().ok()
        } else {
            None
        }
    }
    match s.split_once(':') {
        None => matches!(s, "random" | "pct" | "dfs"),
        Some(("pct", n)) => number(n).is_some_and(|n| n > 0),
        Some(("dfs", n)) => number(n).is_some(),
        Some(_) => false,
    }
}

fn check_signature(func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    let mut errors: Vec<syn::Error> = Vec::new();
    // `new_spanned` rather than a single `Span`: on stable it is the only way
    // to underline a multi-token part such as `x: u32, y: u8`.
    let mut reject = |tokens: &dyn ToTokens, why: &str| {
        errors.push(syn::Error::new_spanned(
            tokens.to_token_stream(),
            format!("#[knot::test] {why}"),
        ));
    };
    if let Some(t) = &sig.constness {
        reject(
            t,
            "functions cannot be `const`: the body runs at test time under the model checker",
        );
    }
    if let Some(t) = &sig.asyncness {
        reject(
            t,
            "functions cannot be `async`: the checker schedules the body itself; \
             spawn knot tasks inside a plain `fn` instead",
        );
    }
    if let Some(t) = &sig.unsafety {
        reject(
            t,
            "functions cannot be `unsafe`: wrap the unsafe operations in an `unsafe` block \
             inside the body",
        );
    }
    if let Some(abi) = &sig.abi {
        reject(abi, "functions cannot declare an ABI: remove the `extern`");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let generics = &sig.generics;
        let where_clause = &generics.where_clause;
        reject(
            &quote!(#generics #where_clause),
            "functions cannot be generic: the test harness calls them with no type arguments",
        );
    }
    if !sig.inputs.is_empty() || sig.variadic.is_some() {
        let inputs = &sig.inputs;
        let variadic = &sig.variadic;
        reject(
            &quote!(#inputs #variadic),
            "functions must take no parameters: the test harness calls them with none",
        );
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        // `-> ()` says the same as no return type, so it is let through.
        let is_unit = matches!(&**ty, Type::Tuple(t) if t.elems.is_empty());
        if !is_unit {
            reject(
                ty,
                "functions must return `()`: a schedule fails by panicking, so use \
                 `assert!`/`unwrap()` instead of returning a value or `Result`",
            );
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            first.extend(errors);
            Err(first)
        }
    }
}

fn is_test_attr(attr: &Attribute) -> bool {
    attr.path().is_ident("test") && matches!(attr.meta, syn::Meta::Path(_))
}

/// The string of `#[attr = "..."]`, if the attribute has that form.
fn name_value_str(meta: &Meta) -> Option<LitStr> {
    match meta {
        Meta::NameValue(MetaNameValue {
            value: Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }),
            ..
        }) => Some(s.clone()),
        _ => None,
    }
}

/// What `#[ignore]` and `#[should_panic]` tell knot's own harness, as calls
/// on `TestCase`. Forms libtest would reject are left for it to reject.
fn harness_calls(attrs: &[Attribute]) -> TokenStream {
    let mut calls = TokenStream::new();
    for attr in attrs {
        if attr.path().is_ident("ignore") {
            match (&attr.meta, name_value_str(&attr.meta)) {
                (Meta::Path(_), _) => calls.extend(quote!(.ignore())),
                (_, Some(reason)) => calls.extend(quote!(.ignore_because(#reason))),
                _ => {}
            }
        } else if attr.path().is_ident("should_panic") {
            let expected = match &attr.meta {
                Meta::Path(_) => None,
                Meta::NameValue(_) => name_value_str(&attr.meta),
                Meta::List(_) => {
                    let mut expected = None;
                    let _ = attr.parse_nested_meta(|meta| {
                        if meta.path.is_ident("expected") {
                            expected = Some(meta.value()?.parse::<LitStr>()?);
                        }
                        Ok(())
                    });
                    expected
                }
            };
            match expected {
                None => calls.extend(quote!(.should_panic())),
                Some(expected) => calls.extend(quote!(.should_panic_with(#expected))),
            }
        }
    }
    calls
}

/// Lint levels, which belong on the function that holds the body.
fn is_lint_attr(attr: &Attribute) -> bool {
    ["allow", "warn", "deny", "forbid", "expect"]
        .iter()
        .any(|lint| attr.path().is_ident(lint))
}

fn generate(args: &Args, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    // Our own `#[test]` replaces one written below the attribute.
    let attrs = attrs.into_iter().filter(|a| !is_test_attr(a));
    let (lints, attrs): (Vec<Attribute>, Vec<Attribute>) = attrs.partition(is_lint_attr);
    // Lint levels apply to the body; all but `expect` (which would go
    // unfulfilled there) to the test function too, for lints on its name.
    let test_lints = lints.iter().filter(|a| !a.path().is_ident("expect"));
    let cfgs: Vec<&Attribute> = attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();

    let mut calls = TokenStream::new();
    if let Some(n) = &args.iterations {
        calls.extend(quote_spanned!(n.span()=> .iterations(#n)));
    }
    if let Some(n) = &args.seed {
        calls.extend(quote_spanned!(n.span()=> .seed(#n)));
    }
    match &args.strategy {
        Some(StrategyArg::Named(s)) => calls.extend(quote_spanned! {s.span()=>
            .strategy(
                <::knot::Strategy as ::core::str::FromStr>::from_str(#s)
                    .unwrap_or_else(|e| ::core::panic!("{}", e))
            )
        }),
        Some(StrategyArg::Expr(e)) => calls.extend(quote!(.strategy(#e))),
        None => {}
    }
    if let Some(n) = &args.max_steps {
        calls.extend(quote_spanned!(n.span()=> .max_steps(#n)));
    }
    let harness_calls = harness_calls(&attrs);

    let fn_token = sig.fn_token;
    let ident = sig.ident;
    // The body lives in a function of its own, which both libtest's
    // `#[test]` and knot's harness call: without `--test` (a
    // `harness = false` target, which still has `cfg(test)`), `#[test]`
    // removes the function it is on.
    let body = format_ident!("__knot_test_{}", ident);
    quote! {
        #[test]
        #(#attrs)*
        #(#test_lints)*
        #vis #fn_token #ident() {
            #body()
        }

        #(#cfgs)*
        #(#lints)*
        #[doc(hidden)]
        fn #body() {
            ::knot::Checker::new()
                #calls
                .check(move || #block);
        }

        #(#cfgs)*
        ::knot::__private::inventory::submit! {
            ::knot::harness::TestCase::new(
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident)),
                #body as fn(),
            )
            #harness_calls
        }
    }
}

#[cfg(test)]
mod tests {
    use super::expand;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn run(args: TokenStream, item: TokenStream) -> String {
        expand(args, item).to_string()
    }

    fn plain_fn() -> TokenStream {
        quote! {
            fn abba() {
                let x = 1;
                assert_eq!(x, 1);
            }
        }
    }

    fn assert_error(out: &str, needles: &[&str]) {
        assert!(
            out.contains("compile_error"),
            "expected compile_error!, got: {out}"
        );
        for needle in needles {
            assert!(out.contains(needle), "expected {needle:?} in: {out}");
        }
        assert!(
            !out.contains("Checker"),
            "no code should be generated on error: {out}"
        );
    }

    const TEST_ATTR: &str = "# [test]";

    #[test]
    fn no_args_only_checks() {
        let out = run(TokenStream::new(), plain_fn());
        assert!(out.starts_with(TEST_ATTR), "{out}");
        assert!(out.contains("fn abba ()"), "{out}");
        assert!(out.contains(":: knot :: Checker :: new ()"), "{out}");
        assert!(out.contains(". check (move ||"), "{out}");
        assert!(out.contains("assert_eq ! (x , 1)"), "{out}");
        for call in [".iterations", ".seed", ".strategy", ".max_steps"] {
            assert!(!out.contains(call), "unexpected {call} in: {out}");
        }
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn each_argument_yields_its_call() {
        let out = run(quote!(iterations = 500), plain_fn());
        assert!(out.contains(". iterations (500)"), "{out}");
        assert!(
            !out.contains(".seed") && !out.contains(".strategy"),
            "{out}"
        );

        let out = run(quote!(seed = 7), plain_fn());
        assert!(out.contains(". seed (7)"), "{out}");
        assert!(!out.contains(".iterations"), "{out}");

        let out = run(quote!(max_steps = 10_000), plain_fn());
        assert!(out.contains(". max_steps (10_000)"), "{out}");

        let out = run(quote!(strategy = "pct:3"), plain_fn());
        assert!(
            out.contains(
                ". strategy (< :: knot :: Strategy as :: core :: str :: FromStr > :: from_str (\"pct:3\")"
            ),
            "{out}"
        );
        assert!(out.contains("unwrap_or_else"), "{out}");

        let out = run(quote!(strategy = my_strategy(2)), plain_fn());
        assert!(out.contains(". strategy (my_strategy (2))"), "{out}");
        assert!(!out.contains("FromStr"), "{out}");
    }

    #[test]
    fn all_arguments_in_any_order() {
        let out = run(
            quote!(
                max_steps = 10_000,
                strategy = "dfs:0",
                seed = 7,
                iterations = 500
            ),
            plain_fn(),
        );
        assert!(!out.contains("compile_error"), "{out}");
        let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} missing: {out}"));
        let (it, seed, strat, steps, check) = (
            pos(". iterations (500)"),
            pos(". seed (7)"),
            pos(". strategy ("),
            pos(". max_steps (10_000)"),
            pos(". check ("),
        );
        assert!(
            it < seed && seed < strat && strat < steps && steps < check,
            "{out}"
        );
    }

    #[test]
    fn accepted_strategy_strings() {
        for s in ["random", "pct", "pct:1", "pct:12", "dfs", "dfs:0", "dfs:4"] {
            let out = run(quote!(strategy = #s), plain_fn());
            assert!(!out.contains("compile_error"), "{s}: {out}");
        }
    }

    #[test]
    fn bad_strategy_string() {
        for s in [
            "bfs", "pct:0", "pct:", "pct:x", "dfs:-1", "dfs:+1", "Random", "random:2",
        ] {
            let out = run(quote!(strategy = #s), plain_fn());
            assert_error(&out, &["unknown strategy", s, "`pct:N` (N > 0)", "`dfs:N`"]);
        }
        let out = run(quote!(strategy = 3), plain_fn());
        assert_error(&out, &["`strategy` expects a string literal"]);
    }

    #[test]
    fn unknown_key() {
        let out = run(quote!(iteratons = 5), plain_fn());
        assert_error(
            &out,
            &[
                "unknown #[knot::test] argument `iteratons`",
                "`iterations = N`",
                "`max_steps = N`",
            ],
        );
        let out = run(quote!(a::b = 5), plain_fn());
        assert_error(&out, &["unknown #[knot::test] argument"]);
    }

    #[test]
    fn duplicate_key() {
        let out = run(quote!(seed = 1, iterations = 2, seed = 3), plain_fn());
        assert_error(&out, &["duplicate #[knot::test] argument `seed`"]);
    }

    #[test]
    fn bad_integer_arguments() {
        let out = run(quote!(iterations = 0), plain_fn());
        assert_error(&out, &["`iterations` cannot be zero"]);
        let out = run(quote!(max_steps = 0), plain_fn());
        assert_error(&out, &["`max_steps` cannot be zero"]);
        let out = run(quote!(iterations = "5"), plain_fn());
        assert_error(
            &out,
            &["`iterations` expects an integer literal greater than zero"],
        );
        let out = run(quote!(seed = some_seed), plain_fn());
        assert_error(&out, &["`seed` expects a non-negative integer literal"]);
        let out = run(quote!(seed = 0), plain_fn());
        assert!(out.contains(". seed (0)"), "{out}");
    }

    #[test]
    fn function_with_params() {
        let out = run(
            TokenStream::new(),
            quote!(
                fn f(x: u32) {}
            ),
        );
        assert_error(&out, &["must take no parameters"]);
    }

    #[test]
    fn async_fn() {
        let out = run(
            TokenStream::new(),
            quote!(
                async fn f() {}
            ),
        );
        assert_error(&out, &["cannot be `async`"]);
    }

    #[test]
    fn return_type() {
        let out = run(
            TokenStream::new(),
            quote!(
                fn f() -> Result<(), String> {
                    Ok(())
                }
            ),
        );
        assert_error(&out, &["must return `()`"]);
        let out = run(
            TokenStream::new(),
            quote!(
                fn f() -> () {}
            ),
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn const_unsafe_generic() {
        let out = run(
            TokenStream::new(),
            quote!(
                const fn f() {}
            ),
        );
        assert_error(&out, &["cannot be `const`"]);
        let out = run(
            TokenStream::new(),
            quote!(
                unsafe fn f() {}
            ),
        );
        assert_error(&out, &["cannot be `unsafe`"]);
        let out = run(
            TokenStream::new(),
            quote!(
                fn f<T>() {}
            ),
        );
        assert_error(&out, &["cannot be generic"]);
    }

    #[test]
    fn errors_are_reported_together() {
        let out = run(
            quote!(bogus = 1),
            quote!(
                async fn f(x: u8) {}
            ),
        );
        assert_error(
            &out,
            &[
                "unknown #[knot::test] argument `bogus`",
                "cannot be `async`",
                "must take no parameters",
            ],
        );
    }

    #[test]
    fn not_a_function() {
        let out = run(
            TokenStream::new(),
            quote!(
                struct S;
            ),
        );
        assert_error(&out, &["can only be applied to a function"]);
    }

    #[test]
    fn attributes_and_visibility_preserved() {
        let out = run(
            quote!(seed = 1),
            quote! {
                /// Documented.
                #[should_panic(expected = "boom")]
                #[ignore]
                #[allow(unused_variables)]
                pub(crate) fn f() { panic!("boom") }
            },
        );
        assert!(out.starts_with(TEST_ATTR), "{out}");
        assert!(out.contains("# [doc = r\" Documented.\"]"), "{out}");
        assert!(
            out.contains("# [should_panic (expected = \"boom\")]"),
            "{out}"
        );
        assert!(out.contains("# [ignore]"), "{out}");
        assert!(out.contains("# [allow (unused_variables)]"), "{out}");
        assert!(out.contains("pub (crate) fn f ()"), "{out}");
    }

    #[test]
    fn existing_test_attribute_not_duplicated() {
        let out = run(
            TokenStream::new(),
            quote! {
                #[test]
                #[ignore]
                fn f() {}
            },
        );
        assert_eq!(out.matches(TEST_ATTR).count(), 1, "{out}");
        assert!(out.contains("# [ignore]"), "{out}");
    }

    /// The part of the expansion that registers the test with the harness.
    fn registration(out: &str) -> &str {
        let at = out
            .find(":: knot :: __private :: inventory :: submit !")
            .unwrap_or_else(|| panic!("no registration in: {out}"));
        &out[at..]
    }

    #[test]
    fn the_test_is_registered_with_the_harness() {
        let out = run(quote!(iterations = 5), plain_fn());
        let reg = registration(&out);
        assert!(
            reg.contains(
                ":: knot :: harness :: TestCase :: new (:: core :: concat ! \
                 (:: core :: module_path ! () , \"::\" , :: core :: stringify ! (abba)) , \
                 __knot_test_abba as fn () ,)"
            ),
            "{reg}"
        );
        assert!(
            !reg.contains(". ignore") && !reg.contains(". should_panic"),
            "{reg}"
        );
        // The test calls the body's function, which survives without
        // `--test`, where `#[test]` removes the test.
        assert!(out.contains("fn abba () { __knot_test_abba () }"), "{out}");
        let body = out
            .find("fn __knot_test_abba ()")
            .expect("the body's function");
        assert!(out[..body].ends_with("# [doc (hidden)] "), "{out}");
        assert!(
            out[body..].contains(":: knot :: Checker :: new ()"),
            "{out}"
        );
        assert!(out[body..].contains("assert_eq ! (x , 1)"), "{out}");
    }

    #[test]
    fn lints_go_to_the_body() {
        let out = run(
            TokenStream::new(),
            quote! {
                /// Documented.
                #[allow(unused_variables)]
                #[expect(clippy::let_unit_value)]
                fn f() { let x = (); }
            },
        );
        let test = out.find("fn f ()").unwrap();
        let body = out.find("fn __knot_test_f ()").unwrap();
        let allow = "# [allow (unused_variables)]";
        let expect = "# [expect (clippy :: let_unit_value)]";
        // `allow` on both functions, `expect` on the body's only.
        assert!(out[..test].contains(allow), "{out}");
        assert!(!out[..test].contains(expect), "{out}");
        assert!(out[test..body].contains(allow), "{out}");
        assert!(out[test..body].contains(expect), "{out}");
        assert_eq!(out.matches("# [allow").count(), 2, "{out}");
        assert_eq!(out.matches("# [expect").count(), 1, "{out}");
        assert!(
            out.find("# [doc = r\" Documented.\"]").unwrap() < test,
            "{out}"
        );
    }

    #[test]
    fn ignore_and_should_panic_reach_the_harness() {
        let case = |attrs: TokenStream| {
            let out = run(
                TokenStream::new(),
                quote! {
                    #attrs
                    fn f() {}
                },
            );
            registration(&out).to_owned()
        };
        assert!(case(quote!(#[ignore])).ends_with(". ignore () }"));
        assert!(case(quote!(#[ignore = "slow"])).ends_with(". ignore_because (\"slow\") }"));
        assert!(case(quote!(#[should_panic])).ends_with(". should_panic () }"));
        assert!(
            case(quote!(#[should_panic = "boom"])).ends_with(". should_panic_with (\"boom\") }")
        );
        let both = case(quote! {
            #[ignore]
            #[should_panic(expected = "boom")]
        });
        assert!(
            both.ends_with(". ignore () . should_panic_with (\"boom\") }"),
            "{both}"
        );
    }

    #[test]
    fn cfg_applies_to_the_registration() {
        let out = run(
            TokenStream::new(),
            quote! {
                #[cfg(feature = "slow")]
                fn f() {}
            },
        );
        assert_eq!(
            out.matches("# [cfg (feature = \"slow\")]").count(),
            3,
            "{out}"
        );
        let reg_at = out.find(":: knot :: __private").unwrap();
        let second_cfg = out.rfind("# [cfg (feature").unwrap();
        assert!(second_cfg < reg_at, "{out}");
    }
}
