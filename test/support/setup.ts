// aws-local-stepfunctions calls Promise.withResolvers, which arrives in Node 22; Node 20 is supported here.
import "../../local/polyfills.ts";
