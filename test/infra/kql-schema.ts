/**
 * The Log Analytics tables the repo's KQL reads, declared as Azure Monitor's table reference documents them
 * (AppEvents, AppRequests, AppDependencies: Application Insights in a workspace; AzureActivity: the activity log).
 * Kusto schema syntax: `(Column:type, ...)`.
 */
export const WORKSPACE_TABLES: Record<string, string> = {
  AppEvents:
    '(TimeGenerated:datetime, Name:string, Properties:dynamic, Measurements:dynamic, OperationId:string, OperationName:string, ParentId:string, ' +
    'AppRoleName:string, AppRoleInstance:string, AppVersion:string, ClientIP:string, IKey:string, ItemCount:int, ResourceGUID:string, ' +
    'SDKVersion:string, SessionId:string, SyntheticSource:string, UserAccountId:string, UserAuthenticatedId:string, UserId:string, ' +
    '_ResourceId:string, _SubscriptionId:string, SourceSystem:string, TenantId:string, Type:string)',
  AppRequests:
    '(TimeGenerated:datetime, Id:string, Name:string, Url:string, ResultCode:string, Success:bool, DurationMs:real, Source:string, ' +
    'Properties:dynamic, Measurements:dynamic, OperationId:string, OperationName:string, ParentId:string, AppRoleName:string, ' +
    'AppRoleInstance:string, AppVersion:string, ClientIP:string, IKey:string, ItemCount:int, ResourceGUID:string, SDKVersion:string, ' +
    'SessionId:string, SyntheticSource:string, UserAccountId:string, UserAuthenticatedId:string, UserId:string, _ResourceId:string, ' +
    '_SubscriptionId:string, SourceSystem:string, TenantId:string, Type:string)',
  AppDependencies:
    '(TimeGenerated:datetime, Id:string, Name:string, Data:string, Target:string, DependencyType:string, ResultCode:string, Success:bool, ' +
    'DurationMs:real, Properties:dynamic, Measurements:dynamic, OperationId:string, OperationName:string, ParentId:string, ' +
    'AppRoleName:string, AppRoleInstance:string, AppVersion:string, IKey:string, ItemCount:int, ResourceGUID:string, SDKVersion:string, ' +
    '_ResourceId:string, _SubscriptionId:string, SourceSystem:string, TenantId:string, Type:string)',
  AzureActivity:
    '(TimeGenerated:datetime, ActivityStatus:string, ActivityStatusValue:string, ActivitySubstatus:string, ActivitySubstatusValue:string, ' +
    'Authorization:string, Authorization_d:dynamic, Caller:string, CallerIpAddress:string, Category:string, CategoryValue:string, ' +
    'Claims:string, Claims_d:dynamic, CorrelationId:string, EventDataId:string, EventSubmissionTimestamp:datetime, Hierarchy:string, ' +
    'HTTPRequest:string, Level:string, OperationId:string, OperationName:string, OperationNameValue:string, Properties:string, ' +
    'Properties_d:dynamic, Resource:string, ResourceGroup:string, _ResourceId:string, ResourceId:string, ResourceProvider:string, ' +
    'ResourceProviderValue:string, SourceSystem:string, SubscriptionId:string, _SubscriptionId:string, TenantId:string, Type:string)',
};
